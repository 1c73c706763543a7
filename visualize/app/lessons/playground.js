// The training playground page's script: draws a Recording (the DATA constant, put before
// this file by visualize/app/lessons/playground.py) and moves it with the slider, buttons and keys.
// Colours: DATA.palette, from visualize/palette.py (red > 0, blue < 0; class 1 red).
const NS = "http://www.w3.org/2000/svg";
const W = DATA.weights, E = W.length - 1, PAL = DATA.palette;
function el(tag, attrs, parent, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function erf(x) {  // Abramowitz-Stegun 7.1.26
  const s = Math.sign(x); x = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
    + 0.254829592) * t * Math.exp(-x * x);
  return s * y;
}
function act(name, z) {
  switch (name) {
    case "relu": return z > 0 ? z : 0;
    case "tanh": return Math.tanh(z);
    case "sigmoid": return 1 / (1 + Math.exp(-z));
    case "leaky_relu": return z > 0 ? z : DATA.slope * z;
    case "gelu": return 0.5 * z * (1 + erf(z / Math.SQRT2));
    default: return z;
  }
}
function predict(epoch, x1, x2) {
  let h = [x1, x2];
  const layers = W[epoch];
  layers.forEach((layer, li) => {
    const a = li === layers.length - 1 ? DATA.outputActivation : DATA.activation;
    h = layer.map((n) => {
      let z = n[n.length - 1];
      for (let i = 0; i < h.length; i++) z += n[i] * h[i];
      return act(a, z);
    });
  });
  return h[0];
}
// ---- the network
let maxW = 1e-12;
W.forEach((ls) => ls.forEach((l) => l.forEach((n) => n.slice(0, -1).forEach((w) => {
  maxW = Math.max(maxW, Math.abs(w)); }))));
const net = document.getElementById("net");
const sizes = DATA.sizes, pos = [];
sizes.forEach((k, li) => {
  const x = 30 + li * (360 / (sizes.length - 1));
  pos.push(Array.from({length: k}, (_, j) => [x, 150 + (j - (k - 1) / 2) * Math.min(34, 260 / k)]));
});
const edges = [];
for (let li = 1; li < sizes.length; li++) {
  for (let j = 0; j < sizes[li]; j++) for (let i = 0; i < sizes[li - 1]; i++) {
    const [x1, y1] = pos[li - 1][i], [x2, y2] = pos[li][j];
    const line = el("line", {x1, y1, x2, y2, class: "edge"}, net);
    edges.push({li: li - 1, j, i, line, title: el("title", {}, line)});
  }
}
const nodes = [];
sizes.forEach((k, li) => pos[li].forEach(([x, y], j) => {
  const c = el("circle", {cx: x, cy: y, r: 8, stroke: PAL.muted, fill: PAL.zero}, net);
  nodes.push({li, j, c, title: el("title", {}, c, li ? "" : `input x${j + 1}`)});
}));
el("text", {x: 30, y: 292, "text-anchor": "middle", "font-size": 11}, net, "inputs");
el("text", {x: 390, y: 292, "text-anchor": "middle", "font-size": 11}, net, "output");
// ---- the boundary
const canvas = document.getElementById("boundary"), ctx = canvas.getContext("2d");
const all = DATA.points.concat(DATA.valPoints);
const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
const lo = [Math.min(...xs) - 0.4, Math.min(...ys) - 0.4], hi = [Math.max(...xs) + 0.4, Math.max(...ys) + 0.4];
const labels = [...new Set(all.map((p) => p[2]))].sort((a, b) => a - b);
const pos1 = labels[labels.length - 1];
function toPx(x, y) {
  return [(x - lo[0]) / (hi[0] - lo[0]) * canvas.width, (1 - (y - lo[1]) / (hi[1] - lo[1])) * canvas.height];
}
function drawBoundary(epoch) {
  const step = 6;
  for (let px = 0; px < canvas.width; px += step) for (let py = 0; py < canvas.height; py += step) {
    const x = lo[0] + (px + step / 2) / canvas.width * (hi[0] - lo[0]);
    const y = lo[1] + (1 - (py + step / 2) / canvas.height) * (hi[1] - lo[1]);
    const s = predict(epoch, x, y) - DATA.threshold;
    const t = Math.min(1, Math.abs(s) / 2);
    ctx.globalAlpha = 0.3 + 0.7 * t;
    ctx.fillStyle = s > 0 ? PAL.posFill : PAL.negFill;
    ctx.fillRect(px, py, step, step);
    ctx.globalAlpha = 1;
  }
  const dot = (p, big) => {
    const [x, y] = toPx(p[0], p[1]);
    ctx.beginPath(); ctx.arc(x, y, big ? 4 : 3, 0, 2 * Math.PI);
    const c = p[2] === pos1 ? PAL.pos : PAL.neg;
    if (big) { ctx.fillStyle = c; ctx.fill(); ctx.strokeStyle = PAL.zero; ctx.lineWidth = 0.7; ctx.stroke(); }
    else { ctx.strokeStyle = c; ctx.lineWidth = 1.2; ctx.stroke(); }
  };
  DATA.valPoints.forEach((p) => dot(p, false));
  DATA.points.forEach((p) => dot(p, true));
}
// ---- curves
const curves = document.getElementById("curves");
const CX0 = 45, CX1 = 385, CY0 = 20, CY1 = 200;
const lossAll = DATA.loss.concat(DATA.valLoss).filter(Number.isFinite);
const lmax = Math.max(...lossAll, 1e-12);
const n = DATA.loss.length;
function cx(e) { return CX0 + (n > 1 ? (e - 1) / (n - 1) : 0.5) * (CX1 - CX0); }
function cy(v, top) { return CY1 - v / top * (CY1 - CY0); }
function path(values, top, attrs) {
  if (!values.length) return;
  el("path", Object.assign({d: values.map((v, k) => (k ? "L" : "M") + cx(k + 1) + "," + cy(v, top)).join(""), fill: "none"}, attrs), curves);
}
el("line", {x1: CX0, y1: CY1, x2: CX1, y2: CY1, stroke: PAL.muted}, curves);
el("line", {x1: CX0, y1: CY0, x2: CX0, y2: CY1, stroke: PAL.muted}, curves);
el("text", {x: (CX0 + CX1) / 2, y: 232, "text-anchor": "middle", "font-size": 11}, curves, "epoch");
el("line", {x1: CX1, y1: CY0, x2: CX1, y2: CY1, stroke: PAL.series[1]}, curves);
el("text", {x: 12, y: 110, "font-size": 11, transform: "rotate(-90 12 110)", "text-anchor": "middle", fill: PAL.series[0]}, curves, "loss");
el("text", {x: 414, y: 110, "font-size": 11, transform: "rotate(90 414 110)", "text-anchor": "middle", fill: PAL.series[1]}, curves, "accuracy");
el("text", {x: CX1 + 3, y: CY0 + 4, "font-size": 9, fill: PAL.series[1]}, curves, "100%");
el("text", {x: CX1 + 3, y: CY1, "font-size": 9, fill: PAL.series[1]}, curves, "0%");
el("text", {x: CX0 - 4, y: CY0 + 4, "text-anchor": "end", "font-size": 9}, curves, lmax.toPrecision(2));
el("text", {x: CX0 - 4, y: CY1, "text-anchor": "end", "font-size": 9}, curves, "0");
el("text", {x: CX1, y: 214, "text-anchor": "end", "font-size": 9}, curves, String(n));
el("text", {x: CX0, y: 214, "text-anchor": "middle", "font-size": 9}, curves, "1");
path(DATA.loss, lmax, {stroke: PAL.series[0], "stroke-width": 1.5});
path(DATA.valLoss, lmax, {stroke: PAL.series[0], "stroke-width": 1.5, "stroke-dasharray": "4 3"});
path(DATA.accuracy, 1, {stroke: PAL.series[1], "stroke-width": 1.5});
path(DATA.valAccuracy, 1, {stroke: PAL.series[1], "stroke-width": 1.5, "stroke-dasharray": "4 3"});
const marker = el("line", {y1: CY0, y2: CY1, stroke: PAL.muted, "stroke-dasharray": "2 2", id: "marker"}, curves);
// ---- gradient flow
const flow = document.getElementById("flow");
const layerNames = Object.keys(DATA.gradFlow);
const gvals = layerNames.flatMap((k) => DATA.gradFlow[k]).filter((v) => v > 0 && Number.isFinite(v));
const gmin = Math.log10(Math.min(...gvals, 1) / 2), gmax = Math.log10(Math.max(...gvals, 1e-12) * 2);
el("line", {x1: 45, y1: 200, x2: 410, y2: 200, stroke: PAL.muted}, flow);
el("text", {x: 12, y: 110, "font-size": 11, transform: "rotate(-90 12 110)", "text-anchor": "middle"}, flow, "mean |grad| (log)");
el("text", {x: 42, y: 24, "text-anchor": "end", "font-size": 9}, flow, Math.pow(10, gmax).toExponential(0));
el("text", {x: 42, y: 200, "text-anchor": "end", "font-size": 9}, flow, Math.pow(10, gmin).toExponential(0));
const bw = 360 / Math.max(1, layerNames.length);
const bars = layerNames.map((name, k) => {
  el("text", {x: 50 + k * bw + bw / 2, y: 216, "text-anchor": "middle", "font-size": 10}, flow, name);
  const r = el("rect", {x: 50 + k * bw + bw * 0.15, width: bw * 0.7, y: 200, height: 0, fill: PAL.series[2], stroke: PAL.muted}, flow);
  const t = el("text", {x: 50 + k * bw + bw / 2, y: 195, "text-anchor": "middle", "font-size": 9}, flow, "");
  return [r, t];
});
el("text", {x: 227, y: 234, "text-anchor": "middle", "font-size": 10}, flow, "input side → output side");
const noStep = el("text", {x: 227, y: 110, "text-anchor": "middle", "font-size": 12, fill: PAL.muted}, flow,
  "epoch 0: the initial weights, no backward pass yet");
// ---- the frame
const slider = document.getElementById("slider");
slider.max = E;
let current = 0, timer = null;
function fmt(v) { return v === undefined ? "–" : v.toFixed(3); }
function show(k) {
  current = Math.max(0, Math.min(E, k));
  slider.value = current;
  const ws = W[current];
  edges.forEach((e) => {
    const w = ws[e.li][e.j][e.i];
    e.line.setAttribute("stroke", w >= 0 ? PAL.pos : PAL.neg);  // red > 0, blue < 0
    e.line.setAttribute("stroke-width", (0.3 + 5 * Math.abs(w) / maxW).toFixed(2));
    e.line.setAttribute("stroke-opacity", (0.25 + 0.75 * Math.abs(w) / maxW).toFixed(2));
    const g = DATA.grads[current][e.li][e.j][e.i];
    e.title.textContent = `layer ${e.li + 1}, neuron ${e.j + 1} ← ${e.li ? "neuron" : "input x"}${e.i + 1}: ` +
      `w = ${w.toPrecision(4)}, d loss/d w = ${current ? g.toPrecision(3) : "(no step yet)"}`;
  });
  nodes.forEach((nd) => {
    if (nd.li === 0) return;
    const b = ws[nd.li - 1][nd.j].slice(-1)[0];
    nd.c.setAttribute("fill", b >= 0 ? PAL.posFill : PAL.negFill);
    const gb = DATA.grads[current][nd.li - 1][nd.j].slice(-1)[0];
    nd.title.textContent = `layer ${nd.li}, neuron ${nd.j + 1}: bias b = ${b.toPrecision(4)}, ` +
      `d loss/d b = ${current ? gb.toPrecision(3) : "(no step yet)"}`;
  });
  drawBoundary(current);
  marker.setAttribute("x1", current ? cx(current) : CX0);
  marker.setAttribute("x2", current ? cx(current) : CX0);
  layerNames.forEach((name, k) => {
    const v = current ? DATA.gradFlow[name][current - 1] : undefined;
    const [r, t] = bars[k];
    if (v === undefined || !(v > 0)) { r.setAttribute("height", 0); r.setAttribute("y", 200); t.textContent = v === 0 ? "0" : ""; return; }
    const h = (Math.log10(v) - gmin) / (gmax - gmin) * 176;
    r.setAttribute("y", 200 - h); r.setAttribute("height", h);
    t.setAttribute("y", 196 - h); t.textContent = v.toExponential(1);
  });
  noStep.setAttribute("visibility", current ? "hidden" : "visible");
  document.getElementById("epoch").textContent = `epoch ${current} of ${E}`;
  const i = current - 1;
  document.getElementById("stats").textContent = current ?
    `loss ${fmt(DATA.loss[i])}  val ${fmt(DATA.valLoss[i])}  acc ${fmt(DATA.accuracy[i])}  val acc ${fmt(DATA.valAccuracy[i])}` : "initial weights";
}
function play() {
  if (timer) { clearInterval(timer); timer = null; document.getElementById("play").textContent = "▶ play"; return; }
  if (current >= E) show(0);
  document.getElementById("play").textContent = "⏸ pause";
  timer = setInterval(() => { if (current >= E) { play(); } else show(current + 1); }, 300);
}
wireControls(show, play, slider, E);
window.playground = {show, predict, current: () => current, frames: E + 1, playing: () => timer !== null};
show(0);
