/// <reference path="./jstat.d.ts" />
import jStat from "jstat";

/**
 * The distributions the engine needs, from jstat (a maintained library, pinned in package.json):
 * the one place that knows where they come from, so no CDF is written by hand here.
 */

export const normalCdf = (x: number): number => jStat.normal.cdf(x, 0, 1);
export const normalPdf = (x: number): number => jStat.normal.pdf(x, 0, 1);
/** The standard normal's p-quantile (e.g. 0.975 → 1.95996). */
export const normalQuantile = (p: number): number => jStat.normal.inv(p, 0, 1);

/** Student's t p-quantile with `dof` degrees of freedom. */
export const studentTQuantile = (p: number, dof: number): number => jStat.studentt.inv(p, dof);

/** Two-sided p-value of a t statistic: the lower tail doubled (no 1 − cdf, which loses digits). */
export const studentTTwoSidedP = (t: number, dof: number): number =>
  Math.min(1, 2 * jStat.studentt.cdf(-Math.abs(t), dof));

/** P(X > x) for X ~ χ²(dof), as scipy's `chi2.sf`. */
export const chiSquareSf = (x: number, dof: number): number =>
  x <= 0 ? 1 : Math.max(0, 1 - jStat.chisquare.cdf(x, dof));
