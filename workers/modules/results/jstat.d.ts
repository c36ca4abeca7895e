/**
 * The part of jstat (1.9.6, no types of its own on npm) the results engine uses. jstat's
 * distributions are static objects: `jStat.normal.cdf(x, mean, sd)`, `jStat.studentt.inv(p, dof)`.
 */
declare module "jstat" {
  interface JStat {
    normal: {
      pdf(x: number, mean: number, sd: number): number;
      cdf(x: number, mean: number, sd: number): number;
      inv(p: number, mean: number, sd: number): number;
    };
    studentt: {
      cdf(x: number, dof: number): number;
      inv(p: number, dof: number): number;
    };
    chisquare: {
      cdf(x: number, dof: number): number;
    };
  }
  const jStat: JStat;
  export default jStat;
}
