// The path player's script: draws DATA (put before this file by visualize/app/lessons/_player.py):
// a loss surface as a shaded grid and each run's path up to the current step, moved by the
// slider, the buttons, the arrow keys and autoplay.
const canvas = document.getElementById("surface"), ctx = canvas.getContext("2d");
const G = DATA.grid, NX = G.values[0].length, NY = G.values.length;
const flat = G.values.flat().filter(Number.isFinite);
const vmin = Math.min(...flat), vmax = Math.max(...flat);
const runs = Object.keys(DATA.runs);
const S = Math.max(...runs.map((r) => DATA.runs[r].path.length)) - 1;
function px(x, y) {
  return [(x - G.x0) / (G.x1 - G.x0) * canvas.width,
          (1 - (y - G.y0) / (G.y1 - G.y0)) * canvas.height];
}
const background = document.createElement("canvas");
background.width = canvas.width; background.height = canvas.height;
(() => {
  const b = background.getContext("2d"), cw = canvas.width / NX, ch = canvas.height / NY;
  for (let j = 0; j < NY; j++) for (let i = 0; i < NX; i++) {
    const t = (G.values[j][i] - vmin) / (vmax - vmin || 1);
    const band = Math.floor(t * 12) % 2 === 0 ? 0 : 10;  // banding reads as contour lines
    const g = Math.round(250 - 150 * t - band);
    b.fillStyle = `rgb(${g},${g},${Math.min(255, g + 20)})`;
    b.fillRect(i * cw, canvas.height - (j + 1) * ch, cw + 1, ch + 1);
  }
  b.fillStyle = "#222"; b.font = "12px Helvetica, Arial, sans-serif";
  b.textAlign = "left"; b.fillText(`${DATA.xLabel} = ${G.x0}`, 4, canvas.height - 6);
  b.textAlign = "right"; b.fillText(`${DATA.xLabel} = ${G.x1} →`, canvas.width - 4, canvas.height - 6);
  b.textAlign = "left"; b.fillText(`↑ ${DATA.yLabel} = ${G.y1}`, 4, 14);
  b.fillText(`${DATA.yLabel} = ${G.y0}`, 4, canvas.height - 22);
  if (DATA.minimum) {
    const [mx, my] = px(DATA.minimum[0], DATA.minimum[1]);
    b.fillStyle = "gold"; b.strokeStyle = "black";
    b.beginPath(); b.arc(mx, my, 6, 0, 2 * Math.PI); b.fill(); b.stroke();
  }
})();
const legend = document.getElementById("legend");
const rows = runs.map((r) => {
  const li = document.createElement("li");
  li.style.color = DATA.runs[r].colour;
  legend.appendChild(li);
  return li;
});
const slider = document.getElementById("slider");
slider.max = S;
let current = 0, timer = null;
function position(r, k) {
  const p = DATA.runs[r].path;
  return p[Math.min(k, p.length - 1)];
}
function show(k) {
  current = Math.max(0, Math.min(S, k));
  slider.value = current;
  ctx.drawImage(background, 0, 0);
  runs.forEach((r, n) => {
    const run = DATA.runs[r], path = run.path.slice(0, current + 1);
    ctx.strokeStyle = run.colour; ctx.lineWidth = 1.6; ctx.beginPath();
    path.forEach((p, i) => { const [x, y] = px(p[0], p[1]); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
    const [x, y] = px(...position(r, current));
    ctx.fillStyle = run.colour; ctx.beginPath(); ctx.arc(x, y, 4.5, 0, 2 * Math.PI); ctx.fill();
    const v = run.values[Math.min(current, run.values.length - 1)];
    const gone = current >= run.path.length - 1 && run.path.length - 1 < S ? " (stopped: diverged)" : "";
    rows[n].textContent = `${r}: ${DATA.valueName} ${Number.isFinite(v) ? v.toPrecision(4) : v}${gone}`;
  });
  document.getElementById("step").textContent = `step ${current} of ${S}`;
}
function play() {
  const button = document.getElementById("play");
  if (timer) { clearInterval(timer); timer = null; button.textContent = "▶ play"; return; }
  if (current >= S) show(0);
  button.textContent = "⏸ pause";
  const stride = Math.max(1, Math.round(S / 150));
  timer = setInterval(() => { if (current >= S) play(); else show(current + stride); }, 40);
}
wireControls(show, play, slider, S);
window.player = {show, position, current: () => current, steps: S, playing: () => timer !== null};
show(0);
