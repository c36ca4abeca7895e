/** A cue card: the tab icon, so browsers do not ask for a missing /favicon.ico. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="3" y="7" width="26" height="18" rx="3" fill="#3451b2"/><path d="M8 13h16M8 18h10" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/></svg>`;
