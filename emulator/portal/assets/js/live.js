// The one periodic refresh a view may run (the journal's Live switch); the router stops it when
// the view changes.
let timer = null;
export function startLive(fn, ms) { stopLive(); timer = setInterval(fn, ms); }
export function stopLive() { if (timer) { clearInterval(timer); timer = null; } }
