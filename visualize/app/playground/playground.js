// chainrule's live playground: ONE front-end module for both hosts.
// - the server page (`chainrule playground`): it mounts itself on #chainrule-playground and
//   talks to /ws over a WebSocket (reconnecting, reloading its state after a server restart);
// - Jupyter (anywidget): `export default {render}` talks through the widget's custom messages.
// Every request is a JSON object {type, ...} (visualize/app/playground/protocol.py checks it);
// every text shown goes through text() (DOM textContent), never as markup; the backward-pass
// frames are shown as <img> data URLs (images cannot run code).
const NS = "http://www.w3.org/2000/svg";
const DOMAIN = 6;
const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const FEATURE_FN = {
  "x1": (a, b) => a / DOMAIN, "x2": (a, b) => b / DOMAIN, "x1^2": (a, b) => a * a / 18 - 1,
  "x2^2": (a, b) => b * b / 18 - 1, "x1*x2": (a, b) => a * b / 18,
  "sin(x1)": (a, b) => Math.sin(a), "sin(x2)": (a, b) => Math.sin(b),
};
const DATASETS = [["circles", "circles"], ["xor", "XOR"], ["gaussians", "Gaussian"],
  ["spiral", "spiral"], ["moons", "moons"], ["plane", "plane (regression)"],
  ["bumps", "bumps (regression)"]];
const LRS = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const CONTROLS = ["dataset", "noise", "train_ratio", "n_points", "regenerate", "features",
  "layers", "activation", "optimizer", "lr", "batch_size", "regularization", "reg_rate",
  "edit_weights", "add_points", "inspect", "export", "show_test"];

function text(node, s) { node.textContent = s == null ? "" : String(s); return node; }
function h(tag, attrs, parent, content) {
  const e = document.createElement(tag);
  for (const k in attrs || {}) {
    if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
  }
  if (content !== undefined) text(e, content);
  if (parent) parent.appendChild(e);
  return e;
}
function s(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function fmt(x) {
  if (x == null || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? x.toExponential(3) : x.toFixed(4);
}
function unpack(b64) {  // the server's bytes: 128 + round(127 * value / scale)
  const raw = atob(b64), out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
function hexRGB(hex) {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  return m ? [1, 2, 3].map((i) => parseInt(m[i], 16)) : [128, 128, 128];
}

class Palette {  // the colours of visualize/palette.py, read from the page's CSS variables
  constructor(root) {
    const st = getComputedStyle(root);
    const v = (n) => st.getPropertyValue(n).trim();
    this.pos = v("--positive"); this.neg = v("--negative"); this.muted = v("--muted");
    this.highlight = v("--highlight");
    this.series = [v("--series-0"), v("--series-1")];
    this.ramps = [[hexRGB(v("--pos-pale")), hexRGB(v("--pos-dark"))],
      [hexRGB(v("--neg-pale")), hexRGB(v("--neg-dark"))]];
  }
  rgb(t) {  // t in [-1, 1]: red ramp above 0, blue below
    const [lo, hi] = this.ramps[t >= 0 ? 0 : 1], a = Math.min(1, Math.abs(t));
    return [0, 1, 2].map((i) => Math.round(lo[i] + (hi[i] - lo[i]) * a));
  }
  sign(x) { return x > 0 ? this.pos : x < 0 ? this.neg : this.muted; }
  lut() {  // byte code (128 = 0) -> RGBA, for the maps
    if (!this._lut) {
      this._lut = new Uint32Array(256);
      const bytes = new Uint8Array(this._lut.buffer);
      for (let c = 0; c < 256; c++) {
        // at most 80% along the ramp, so that the points stay visible on the maps
        const [r, g, b] = this.rgb(0.8 * Math.max(-1, (c - 128) / 127));
        bytes.set([r, g, b, 255], 4 * c);
      }
    }
    return this._lut;
  }
}

const offscreen = {};
function paintMap(canvas, codes, cells, pal) {
  let off = offscreen[cells];
  if (!off) {
    const cv = document.createElement("canvas");
    cv.width = cells; cv.height = cells;
    const c2 = cv.getContext("2d"), img = c2.createImageData(cells, cells);
    off = offscreen[cells] = {cv, c2, img, px: new Uint32Array(img.data.buffer)};
  }
  const lut = pal.lut(), px = off.px;
  for (let k = 0; k < cells * cells; k++) px[k] = lut[codes[k]];
  off.c2.putImageData(off.img, 0, 0);
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off.cv, 0, 0, canvas.width, canvas.height);
}

class App {
  constructor(root, transport, host) {
    this.root = root; this.t = transport; this.host = host;
    this.S = null; this.F = null; this.playing = false; this.sizesKey = "";
    this.mode = "inspect"; this.inspected = null; this.pointGrads = false;
    this.framesDrawn = 0; this.lastExport = null; this.errors = []; this.pending = false;
    this.build();
    this.pal = new Palette(root);
    transport.onMessage((m) => this.receive(m));
  }
  send(msg) { this.t.send(msg); }
  set(changes) { this.send({type: "set", changes}); }

  // ---- the page's elements ------------------------------------------------------
  build() {
    const r = this.root;
    r.classList.add("crpg");
    const bar = h("div", {class: "crpg-bar"}, r);
    this.playBtn = h("button", {class: "crpg-play", title: "play / pause (space)"}, bar, "▶ play");
    this.playBtn.onclick = () => this.send({type: this.playing ? "pause" : "play"});
    h("button", {class: "crpg-step", title: "train one epoch"}, bar, "step").onclick =
      () => this.send({type: "step"});
    h("button", {class: "crpg-reset", title: "new weights from the seed, epoch 0"}, bar,
      "reset").onclick = () => this.send({type: "reset"});
    this.epochEl = h("span", {class: "crpg-epoch"}, bar, "epoch 0");
    this.lossEl = h("span", {class: "crpg-loss"}, bar, "");
    const sel = (label, name, options, field, parse) => {
      const wrap = h("label", {"data-control": name}, bar, label + " ");
      const e = h("select", {class: "crpg-" + name}, wrap);
      options.forEach(([v, t]) => h("option", {value: String(v)}, e, t));
      e.onchange = () => this.set({[field]: parse(e.value)});
      return e;
    };
    this.lrSel = sel("learning rate", "lr", LRS.map((v) => [v, String(v)]), "lr", Number);
    this.actSel = sel("activation", "activation",
      ["tanh", "relu", "sigmoid", "linear"].map((v) => [v, v]), "activation", String);
    this.optSel = sel("optimizer", "optimizer", [["sgd", "SGD"], ["momentum", "momentum"],
      ["rmsprop", "RMSprop"], ["adam", "Adam"]], "optimizer", String);
    this.regSel = sel("regularization", "regularization",
      [["none", "none"], ["l1", "L1"], ["l2", "L2"]], "regularization", String);
    this.rateSel = sel("rate", "reg_rate", RATES.map((v) => [v, String(v)]), "reg_rate", Number);
    this.pathEl = h("span", {class: "crpg-path"}, bar, "");
    this.errorEl = h("div", {class: "crpg-error", role: "alert"}, r);
    const main = h("div", {class: "crpg-main"}, r);
    this.buildData(h("div", {class: "crpg-col crpg-data"}, main));
    this.buildNet(h("div", {class: "crpg-col crpg-netcol"}, main));
    this.buildOutput(h("div", {class: "crpg-col crpg-out"}, main));
    this.buildInspect(h("div", {class: "crpg-inspect"}, r));
    this.buildTools(h("div", {class: "crpg-tools"}, r));
    this.root.tabIndex = 0;
    this.root.addEventListener("keydown", (e) => {
      if (e.key === " " && e.target.tagName !== "INPUT" && e.target.tagName !== "SELECT") {
        e.preventDefault(); this.playBtn.click();
      }
    });
  }

  buildData(col) {
    h("h3", {}, col, "data");
    const ds = h("div", {class: "crpg-datasets", "data-control": "dataset"}, col);
    this.dsBtns = DATASETS.map(([v, t]) => {
      const b = h("button", {"data-dataset": v}, ds, t);
      b.onclick = () => this.set({dataset: v});
      return b;
    });
    const slider = (label, name, min, max, step, field, scale) => {
      const wrap = h("label", {class: "crpg-slider", "data-control": name}, col, label + " ");
      const e = h("input", {type: "range", min, max, step, class: "crpg-" + name}, wrap);
      const out = h("span", {}, wrap, "");
      e.oninput = () => text(out, e.value);
      e.onchange = () => this.set({[field]: scale(Number(e.value))});
      return [e, out];
    };
    this.ratio = slider("training data %", "train_ratio", 10, 90, 10, "train_ratio", (v) => v / 100);
    this.noise = slider("noise %", "noise", 0, 50, 5, "noise", (v) => v / 100);
    this.npts = slider("points", "n_points", 20, 1000, 10, "n_points", (v) => v);
    this.batch = slider("batch size", "batch_size", 1, 50, 1, "batch_size", (v) => v);
    const regen = h("button", {class: "crpg-regenerate", "data-control": "regenerate"}, col,
      "regenerate");
    regen.onclick = () => this.send({type: "regenerate"});
    h("h3", {}, col, "click on the output to");
    const modes = h("div", {class: "crpg-modes"}, col);
    this.modeBtns = [["inspect", "inspect a point", "inspect"],
      ["add1", "add class 1 (red)", "add_points"], ["add0", "add class 0 (blue)", "add_points"],
      ["delete", "delete a point", "add_points"]].map(([m, t, c]) => {
      const b = h("button", {"data-mode": m, "data-control": c}, modes, t);
      b.onclick = () => { this.mode = m; this.modeBtns.forEach((x) => x.classList.toggle(
        "on", x === b)); };
      return b;
    });
    this.modeBtns[0].classList.add("on");
    const tgt = h("label", {class: "crpg-target", "data-control": "add_points"}, col,
      "regression: added points' target ");
    this.targetIn = h("input", {type: "number", value: "1", step: "0.1", min: "-100",
      max: "100"}, tgt);
  }

  buildNet(col) {
    const head = h("div", {class: "crpg-nethead", "data-control": "layers"}, col);
    h("button", {class: "crpg-addlayer", title: "add a hidden layer"}, head, "+ layer").onclick =
      () => { const k = this.S.hidden; if (k.length < 6) this.set({hidden: [...k, 2]}); };
    h("button", {class: "crpg-rmlayer", title: "remove the last hidden layer"}, head,
      "− layer").onclick = () => {
      const k = this.S.hidden; if (k.length) this.set({hidden: k.slice(0, -1)}); };
    this.layersEl = h("span", {}, head, "");
    this.net = h("div", {class: "crpg-net"}, col);
    this.legend = h("p", {class: "crpg-legend"}, col,
      "edges: weights (red > 0, blue < 0, width = size); hover for the weight and its " +
      "gradient, click to edit; node maps: each neuron's output over the plane");
    this.editor = h("div", {class: "crpg-editor", hidden: ""}, col);
    this.editLabel = h("span", {}, this.editor, "");
    this.editIn = h("input", {type: "number", step: "0.01"}, this.editor);
    h("button", {class: "crpg-editset"}, this.editor, "set").onclick = () => {
      const v = Number(this.editIn.value), e = this.editing;
      if (!Number.isFinite(v)) { this.showError("the weight must be a number"); return; }
      this.send({type: "set_weight", layer: e.li, neuron: e.j, index: e.i, value: v});
      this.editor.hidden = true;
    };
    h("button", {}, this.editor, "cancel").onclick = () => { this.editor.hidden = true; };
  }

  buildOutput(col) {
    h("h3", {}, col, "output");
    this.out = h("canvas", {class: "crpg-output", width: 300, height: 300}, col);
    this.out.onclick = (e) => this.clickOutput(e);
    const row = h("div", {}, col);
    const cb = (label, name, field) => {
      const w = h("label", {"data-control": name}, row, "");
      const e = h("input", {type: "checkbox", class: "crpg-" + field}, w);
      h("span", {}, w, " " + label + "  ");
      e.onchange = () => this.set({[field]: e.checked});
      return e;
    };
    this.testCb = cb("show test data", "show_test", "show_test");
    this.logCb = cb("log scale", "show_test_log", "log_scale");
    this.curve = s("svg", {class: "crpg-curve", viewBox: "0 0 300 110"}, col);
    this.curveText = h("p", {class: "crpg-curvetext"}, col, "");
  }

  buildInspect(outer) {
    this.inspectBox = outer;
    h("h3", {}, outer, "a point's forward and backward pass");
    const cols = h("div", {class: "crpg-inspectcols"}, outer);
    const box = h("div", {}, cols);
    this.inspectInfo = h("p", {class: "crpg-inspectinfo"}, box,
      "click a point in the output (mode: inspect a point) to see its forward values and " +
      "its backward pass through the network");
    const g = h("label", {}, box, "");
    this.gradCb = h("input", {type: "checkbox", class: "crpg-pointgrads"}, g);
    h("span", {}, g, " colour the edges by this point's d loss / d weight");
    this.gradCb.onchange = () => { this.pointGrads = this.gradCb.checked; this.drawEdges(); };
    this.table = h("table", {class: "crpg-table"}, box);
    const player = h("div", {class: "crpg-player"}, cols);
    const ctl = h("div", {}, player);
    h("button", {class: "crpg-prev"}, ctl, "◀").onclick = () => this.showFrame(this.frameAt - 1);
    this.frameSlider = h("input", {type: "range", min: 0, max: 0, value: 0,
      class: "crpg-frameslider"}, ctl);
    this.frameSlider.oninput = () => this.showFrame(Number(this.frameSlider.value));
    h("button", {class: "crpg-next"}, ctl, "▶").onclick = () => this.showFrame(this.frameAt + 1);
    this.caption = h("p", {class: "crpg-caption"}, player, "");
    this.frameImg = h("img", {class: "crpg-frame", alt: "backward pass frame",
      title: "click to zoom in or out"}, player);
    this.frameImg.onclick = () => this.frameImg.classList.toggle("zoom");
    this.frameAt = 0; this.frames = [];
  }

  buildTools(box) {
    const ex = h("div", {"data-control": "export"}, box);
    h("h3", {}, ex, "save and share");
    const btn = (label, cls, fn) => { h("button", {class: cls}, ex, label).onclick = fn; };
    btn("save state file", "crpg-export-state", () => this.send({type: "export", what: "state"}));
    btn("export model (nn.load)", "crpg-export-model",
      () => this.send({type: "export", what: "model"}));
    btn("export script (nn.fit)", "crpg-export-script",
      () => this.send({type: "export", what: "script"}));
    btn("save this run as a page", "crpg-export-page",
      () => this.send({type: "export", what: "page"}));
    const lw = h("label", {class: "crpg-load"}, ex, "load state file ");
    this.fileIn = h("input", {type: "file", accept: ".json,application/json",
      class: "crpg-loadfile"}, lw);
    this.fileIn.onchange = () => {
      const f = this.fileIn.files[0];
      if (!f) return;
      f.text().then((txt) => {
        let st;
        try { st = JSON.parse(txt); } catch (e) { this.showError("not a state file: " + e.message); return; }
        this.send({type: "load_state", state: st});
      });
      this.fileIn.value = "";
    };
    this.linkEl = h("a", {class: "crpg-link", href: "#"}, ex, "link to this state");
    const cls = h("details", {class: "crpg-classroom"}, box);
    h("summary", {}, cls, "classroom mode: hide controls");
    this.hideCbs = CONTROLS.map((c) => {
      const w = h("label", {}, cls, "");
      const e = h("input", {type: "checkbox", "data-hide": c}, w);
      h("span", {}, w, " " + c + "  ");
      e.onchange = () => this.set({hidden_controls: this.hideCbs.filter((x) => x.checked)
        .map((x) => x.getAttribute("data-hide"))});
      return e;
    });
  }

  // ---- messages --------------------------------------------------------------------
  receive(m) {
    if (m.type === "state") this.onState(m);
    else if (m.type === "frame") { this.F = m; this.schedule(); }
    else if (m.type === "status") this.setPlaying(m.playing);
    else if (m.type === "error") this.showError(m.message);
    else if (m.type === "inspect") this.onInspect(m);
    else if (m.type === "export") this.onExport(m);
  }
  schedule() {
    if (this.pending) return;
    this.pending = true;
    setTimeout(() => {  // messages of one burst (state + frame) make one drawing
      this.pending = false;
      try { this.draw(); } finally { this.send({type: "ack"}); }
    }, 0);
  }
  setPlaying(p) { this.playing = p; text(this.playBtn, p ? "❚❚ pause" : "▶ play"); }
  showError(msg) {
    this.errors.push(String(msg));
    text(this.errorEl, msg); this.errorEl.classList.add("on");
    clearTimeout(this.errTimer);
    this.errTimer = setTimeout(() => this.errorEl.classList.remove("on"), 10000);
  }
  onState(m) {
    const S = m.state;
    this.S = S; this.setPlaying(m.playing); this.fragment = m.fragment;
    if (this.host.onState) this.host.onState(m);
    this.linkEl.setAttribute("href", "#state=" + m.fragment);
    text(this.pathEl, m.path === "batched" ? "engine: compiled, batched (NumPy)"
      : "engine: dynamic");
    this.dsBtns.forEach((b) => b.classList.toggle("on", b.getAttribute("data-dataset") === S.dataset));
    const put = (e, v) => { if (document.activeElement !== e) e.value = String(v); };
    put(this.lrSel, S.lr); put(this.actSel, S.activation); put(this.optSel, S.optimizer);
    put(this.regSel, S.regularization); put(this.rateSel, S.reg_rate);
    const sl = ([e, out], v) => { put(e, v); text(out, v); };
    sl(this.ratio, Math.round(S.train_ratio * 100)); sl(this.noise, Math.round(S.noise * 100));
    sl(this.npts, S.n_points); sl(this.batch, S.batch_size);
    this.testCb.checked = S.show_test; this.logCb.checked = S.log_scale;
    this.hideCbs.forEach((c) => { c.checked = S.hidden_controls.includes(c.getAttribute("data-hide")); });
    this.root.querySelectorAll("[data-control]").forEach((e) => {
      e.classList.toggle("crpg-hidden", S.hidden_controls.includes(e.getAttribute("data-control")));
    });
    text(this.layersEl, `  ${S.hidden.length} hidden layer${S.hidden.length === 1 ? "" : "s"}`);
    const key = JSON.stringify([S.features, S.hidden]);
    if (key !== this.sizesKey) {
      this.sizesKey = key; this.buildNetwork();
      if (this.inspected) this.clearInspect();
    }
    if (this.inspected) {
      const pts = S[this.inspected.split];
      if (this.inspected.index >= pts.length) this.clearInspect();
    }
    this.schedule();
  }

  // ---- the network ----------------------------------------------------------------------
  buildNetwork() {
    const S = this.S, net = this.net;
    while (net.firstChild) net.removeChild(net.firstChild);
    const cols = [FEATURES.length, ...S.hidden, 1], W = 520, H = 340, node = 30;
    const x = (c) => 20 + c * ((W - 60) / (cols.length - 1));
    const y = (c, j) => { const k = cols[c], gap = Math.min(42, (H - 40) / k);
      return H / 2 + (j - (k - 1) / 2) * gap - node / 2; };
    net.style.width = W + "px"; net.style.height = H + "px";
    this.svg = s("svg", {width: W, height: H, class: "crpg-edges"}, net);
    this.nodes = []; this.edges = [];
    const inputs = FEATURES.map((f, j) => {
      const on = S.features.includes(f);
      const d = h("div", {class: "crpg-node crpg-feature" + (on ? " on" : ""),
        "data-feature": f, "data-control": "features",
        title: (on ? "remove " : "add ") + "the input " + f}, net);
      d.style.left = x(0) + "px"; d.style.top = y(0, j) + "px";
      const cv = h("canvas", {width: node, height: node}, d);
      h("span", {class: "crpg-nodelabel"}, d, f);
      this.paintFeature(cv, f);
      d.onclick = () => {
        const fs = on ? S.features.filter((v) => v !== f) : [...S.features, f];
        if (!fs.length) { this.showError("keep at least one input feature"); return; }
        this.set({features: fs});
      };
      return {f, on, x: x(0), y: y(0, j)};
    });
    const active = inputs.filter((n) => n.on);
    let prev = active.map((n) => [n.x + node, n.y + node / 2]);
    for (let c = 1; c < cols.length; c++) {
      const layer = [];
      for (let j = 0; j < cols[c]; j++) {
        const d = h("div", {class: "crpg-node crpg-neuron", "data-layer": c - 1, "data-neuron": j}, net);
        d.style.left = x(c) + "px"; d.style.top = y(c, j) + "px";
        const cv = h("canvas", {width: node, height: node}, d);
        const title = c === cols.length - 1 ? "the output" : `neuron h${c}.${j + 1}`;
        d.setAttribute("title", title);
        layer.push({cv, d, x: x(c), y: y(c, j)});
        prev.forEach(([px, py], i) => {
          const tx = x(c), ty = y(c, j) + node / 2, mx = (px + tx) / 2;
          const p = s("path", {d: `M${px},${py} C${mx},${py} ${mx},${ty} ${tx},${ty}`,
            class: "crpg-edge", "data-layer": c - 1, "data-neuron": j, "data-input": i}, this.svg);
          const t = s("title", {}, p);
          p.addEventListener("click", () => this.editEdge(c - 1, j, i));
          this.edges.push({p, t, li: c - 1, j, i});
        });
      }
      if (c < cols.length - 1) {
        const ctl = h("div", {class: "crpg-neuronbtns", "data-control": "layers"}, net);
        ctl.style.left = (x(c) - 6) + "px"; ctl.style.top = "0px";
        h("button", {class: "crpg-addneuron", title: "add a neuron"}, ctl, "+").onclick = () => {
          const k = [...S.hidden]; if (k[c - 1] < 8) { k[c - 1]++; this.set({hidden: k}); } };
        h("button", {class: "crpg-rmneuron", title: "remove a neuron"}, ctl, "−").onclick = () => {
          const k = [...S.hidden]; if (k[c - 1] > 1) { k[c - 1]--; this.set({hidden: k}); } };
      }
      this.nodes.push(layer);
      prev = layer.map((n) => [n.x + node, n.y + node / 2]);
    }
    // biases: hover a neuron for its bias, click the small square to edit it
    this.nodes.forEach((layer, li) => layer.forEach((n, j) => {
      const b = h("div", {class: "crpg-bias", title: "bias"}, net);
      b.style.left = (n.x - 6) + "px"; b.style.top = (n.y + 24) + "px";
      b.onclick = () => this.editEdge(li, j, -1);
      n.bias = b;
    }));
  }
  paintFeature(cv, f) {
    const cells = 16, vals = new Uint8Array(cells * cells), fn = FEATURE_FN[f];
    for (let j = 0; j < cells; j++) for (let i = 0; i < cells; i++) {
      const a = -DOMAIN + (i + 0.5) * 2 * DOMAIN / cells, b = DOMAIN - (j + 0.5) * 2 * DOMAIN / cells;
      vals[j * cells + i] = 128 + Math.round(127 * Math.max(-1, Math.min(1, fn(a, b))));
    }
    paintMap(cv, vals, cells, this.pal || new Palette(this.root));
  }
  editEdge(li, j, i) {
    if (!this.F || this.S.hidden_controls.includes("edit_weights")) return;
    const n = this.F.weights[li][j], idx = i < 0 ? n.length - 1 : i;
    this.editing = {li, j, i: idx};
    const what = i < 0 ? `bias of ${this.nodeName(li, j)}` :
      `weight ${this.inputName(li, i)} → ${this.nodeName(li, j)}`;
    text(this.editLabel, what + " = ");
    this.editIn.value = String(n[idx]);
    this.editor.hidden = false;
    this.editIn.focus();
  }
  nodeName(li, j) { return li === this.S.hidden.length ? "output" : `h${li + 1}.${j + 1}`; }
  inputName(li, i) { return li === 0 ? this.S.features[i] : `h${li}.${i + 1}`; }
  fits(weights) {  // do these weights belong to the network drawn now?
    const S = this.S, sizes = [S.features.length, ...S.hidden, 1];
    return weights.length === sizes.length - 1 && weights.every((layer, li) =>
      layer.length === sizes[li + 1] && layer.every((n) => n.length === sizes[li] + 1));
  }
  drawEdges() {
    const F = this.F;
    if (!F || !this.edges || !this.fits(F.weights)) return;
    const src = this.pointGrads && this.inspected ? this.inspected.weight_grads : F.weights;
    let top = 1e-12;
    this.edges.forEach((e) => { top = Math.max(top, Math.abs(src[e.li][e.j][e.i])); });
    const scale = this.pointGrads && this.inspected ? 6 / top : 2.5;
    this.edges.forEach((e) => {
      const w = F.weights[e.li][e.j][e.i], g = F.grads[e.li][e.j][e.i], v = src[e.li][e.j][e.i];
      e.p.setAttribute("stroke", this.pal.sign(v));
      e.p.setAttribute("stroke-width", Math.min(8, 0.5 + Math.abs(v) * scale).toFixed(2));
      let tip = `${this.inputName(e.li, e.i)} → ${this.nodeName(e.li, e.j)}: weight ${fmt(w)}, ` +
        `gradient ${fmt(g)} (last step)`;
      if (this.inspected) tip += `; this point's d loss/d w ${fmt(this.inspected.weight_grads[e.li][e.j][e.i])}`;
      text(e.t, tip);
    });
    this.nodes.forEach((layer, li) => layer.forEach((n, j) => {
      const ws = F.weights[li][j], b = ws[ws.length - 1];
      n.bias.style.background = this.pal.sign(b);
      n.bias.setAttribute("title", `bias of ${this.nodeName(li, j)}: ${fmt(b)}, gradient ` +
        fmt(F.grads[li][j][ws.length - 1]));
    }));
  }

  // ---- drawing a frame ----------------------------------------------------------------------
  draw() {
    const F = this.F, S = this.S;
    if (!F || !S || !this.fits(F.weights)) return;  // the frame of a network just replaced
    text(this.epochEl, "epoch " + F.epoch);
    text(this.lossEl, `train loss ${fmt(F.loss_train)}  test loss ${fmt(F.loss_test)}`);
    const om = F.output_map;
    paintMap(this.out, unpack(om.data), om.cells, this.pal);
    this.drawPoints();
    const nm = F.neuron_maps, flat = [].concat(...(this.nodes || []));
    if (flat.length === nm.maps.length) {
      nm.maps.forEach((m, k) => paintMap(flat[k].cv, unpack(m.data), nm.cells, this.pal));
    }
    this.drawEdges();
    this.drawCurve();
    this.framesDrawn++;
  }
  toPx(x1, x2) { return [(x1 + DOMAIN) / (2 * DOMAIN) * this.out.width,
    (DOMAIN - x2) / (2 * DOMAIN) * this.out.height]; }
  drawPoints() {
    const S = this.S, ctx = this.out.getContext("2d");
    const dot = (p, test, marked) => {
      const [x, y] = this.toPx(p[0], p[1]);
      ctx.beginPath(); ctx.arc(x, y, marked ? 6 : 3.2, 0, 2 * Math.PI);
      const col = S.dataset === "plane" || S.dataset === "bumps" ?
        `rgb(${this.pal.rgb(Math.max(-1, Math.min(1, p[2]))).join(",")})` :
        (p[2] === 1 ? this.pal.pos : this.pal.neg);
      ctx.fillStyle = col; ctx.fill();
      ctx.lineWidth = marked ? 2.5 : 1;
      ctx.strokeStyle = marked ? this.pal.highlight : test ? "black" : "white";
      ctx.stroke();
    };
    const ins = this.inspected;
    S.train.forEach((p, k) => dot(p, false, ins && ins.split === "train" && ins.index === k));
    if (S.show_test) S.test.forEach((p, k) => dot(p, true, ins && ins.split === "test" && ins.index === k));
  }
  drawCurve() {
    const c = this.F.curve, svg = this.curve, S = this.S;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const vals = c.train.concat(c.test).filter((v) => v != null && v > 0);
    if (!vals.length) return;
    const log = S.log_scale;
    const f = (v) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
    let lo = log ? Math.min(...vals.map(f)) : 0, hi = Math.max(...vals.map(f));
    if (hi - lo < 1e-9) hi = lo + 1;
    const n = c.epochs[c.epochs.length - 1] || 1;
    const X = (e) => 30 + 265 * e / n, Y = (v) => 100 - 90 * (f(v) - lo) / (hi - lo);
    s("line", {x1: 30, y1: 100, x2: 295, y2: 100, stroke: this.pal.muted}, svg);
    s("line", {x1: 30, y1: 10, x2: 30, y2: 100, stroke: this.pal.muted}, svg);
    [[c.train, this.pal.series[0]], [c.test, this.pal.series[1]]].forEach(([ys, col]) => {
      const pts = [];
      ys.forEach((v, k) => { if (v != null && v > 0) pts.push(`${X(c.epochs[k]).toFixed(1)},${Y(v).toFixed(1)}`); });
      if (pts.length) s("polyline", {points: pts.join(" "), fill: "none", stroke: col, "stroke-width": 1.5}, svg);
    });
    const lab = (x, y, t, anchor) => text(s("text", {x, y, "font-size": 8, "text-anchor": anchor || "start"}, svg), t);
    lab(27, 14, log ? "1e" + hi.toFixed(1) : hi.toPrecision(2), "end");
    lab(27, 100, log ? "1e" + lo.toFixed(1) : "0", "end");
    lab(295, 109, "epoch " + n, "end");
    text(this.curveText, "loss curves: train (first series colour), test (second)" +
      (log ? ", log scale" : ""));
    this.curveText.style.setProperty("--a", this.pal.series[0]);
  }

  // ---- clicking the output -------------------------------------------------------------------------
  clickOutput(e) {
    const S = this.S;
    if (!S) return;
    const r = this.out.getBoundingClientRect();
    const px = (e.clientX - r.left) * this.out.width / r.width, py = (e.clientY - r.top) * this.out.height / r.height;
    const x1 = px / this.out.width * 2 * DOMAIN - DOMAIN, x2 = DOMAIN - py / this.out.height * 2 * DOMAIN;
    if (this.mode === "add1" || this.mode === "add0") {
      const reg = S.dataset === "plane" || S.dataset === "bumps";
      const label = reg ? Number(this.targetIn.value) * (this.mode === "add1" ? 1 : -1)
        : (this.mode === "add1" ? 1 : 0);
      this.send({type: "add_point", x1, x2, label, split: "train"});
      return;
    }
    let best = null, bd = 12 * 12;
    const look = (split) => S[split].forEach((p, k) => {
      const [qx, qy] = this.toPx(p[0], p[1]), d = (qx - px) ** 2 + (qy - py) ** 2;
      if (d < bd) { bd = d; best = {split, index: k}; }
    });
    look("train"); if (S.show_test) look("test");
    if (!best) return;
    if (this.mode === "delete") this.send({type: "delete_point", ...best});
    else this.send({type: "inspect", ...best});
  }

  // ---- a point's forward and backward pass ------------------------------------------------------
  clearInspect() {
    this.inspected = null; this.frames = [];
    text(this.inspectInfo, "click a point in the output (mode: inspect a point)");
    while (this.table.firstChild) this.table.removeChild(this.table.firstChild);
    this.frameImg.removeAttribute("src"); text(this.caption, "");
  }
  onInspect(m) {
    this.inspected = m;
    const p = m.point, feats = Object.entries(m.features).map(([k, v]) => `${k} = ${fmt(v)}`);
    text(this.inspectInfo, `${m.split} point ${m.index}: (${fmt(p[0])}, ${fmt(p[1])}), ` +
      `label ${p[2]}; inputs ${feats.join(", ")}; output ${fmt(m.output)}, loss ${fmt(m.loss)}`);
    const t = this.table;
    while (t.firstChild) t.removeChild(t.firstChild);
    const head = h("tr", {}, t);
    ["neuron", "activation (forward)", "d loss / d activation (backward)"].forEach((c) => h("th", {}, head, c));
    m.activations.forEach((layer, li) => layer.forEach((a, j) => {
      const tr = h("tr", {}, t);
      h("td", {}, tr, this.nodeName(li, j));
      h("td", {}, tr, fmt(a));
      const g = h("td", {}, tr, fmt(m.dactivations[li][j]));
      g.style.color = this.pal.sign(m.dactivations[li][j]);
    }));
    this.frames = m.frames; this.captions = m.captions;
    this.frameSlider.max = String(Math.max(0, m.frames.length - 1));
    if (m.frames.length) this.showFrame(0);
    else text(this.caption, m.frames_note || "");
    this.drawEdges(); this.drawPoints();
    this.inspectBox.classList.add("on");
  }
  showFrame(k) {
    if (!this.frames.length) return;
    k = Math.max(0, Math.min(this.frames.length - 1, k));
    this.frameAt = k; this.frameSlider.value = String(k);
    this.frameImg.src = "data:image/svg+xml;base64," + this.frames[k];
    text(this.caption, `step ${k} of ${this.frames.length - 1}: ${this.captions[k] || ""}`);
  }

  // ---- exports ----------------------------------------------------------------------------------------
  onExport(m) {
    this.lastExport = m;
    const kinds = {script: "text/x-python", page: "text/html"};
    const blob = new Blob([m.text], {type: kinds[m.what] || "application/json"});
    const a = h("a", {href: URL.createObjectURL(blob), download: m.filename}, null);
    if (!this.host.noDownload) { document.body.appendChild(a); a.click(); a.remove(); }
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
}

// ---- host 1: the server page (WebSocket) ---------------------------------------------------------------
function socketTransport(path, app) {
  const handlers = [];
  let ws = null, queue = [], everConnected = false, closed = false, retry = 250;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  const open = () => {
    ws = new WebSocket(url);
    ws.onopen = () => {
      retry = 250;
      const again = everConnected;
      everConnected = true;
      ws.send(JSON.stringify({type: "hello"}));
      queue.forEach((m) => ws.send(m)); queue = [];
      handlers.forEach((f) => f({type: "_connected", again}));
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      handlers.forEach((f) => f(m));
    };
    ws.onclose = () => {
      if (closed) return;
      handlers.forEach((f) => f({type: "_disconnected"}));
      setTimeout(open, retry); retry = Math.min(5000, retry * 2);
    };
  };
  open();
  return {
    send(msg) {
      const t = JSON.stringify(msg);
      if (ws && ws.readyState === 1) ws.send(t); else if (msg.type !== "ack") queue.push(t);
    },
    onMessage(f) { handlers.push(f); },
    close() { closed = true; if (ws) ws.close(); },
  };
}

function startPage(root) {
  const host = {};
  const transport = socketTransport(root.getAttribute("data-socket") || "/ws");
  let app = null, sentHash = false, reconnecting = false, lastFragment = null;
  host.onState = (m) => {
    // a fresh server (just started, or restarted) with a state in the URL: load it once
    const hash = location.hash.startsWith("#state=") ? location.hash.slice(7) : null;
    if (m.pristine && !sentHash && (hash || (reconnecting && lastFragment))) {
      sentHash = true;
      transport.send({type: "load_state", fragment: hash && !reconnecting ? hash : lastFragment || hash});
      return;
    }
    lastFragment = m.fragment;
    history.replaceState(null, "", "#state=" + m.fragment);
  };
  transport.onMessage((m) => {
    if (m.type === "_disconnected" && app) {
      reconnecting = true; sentHash = false;
      app.showError("the connection to the playground server was lost; reconnecting (your " +
        "state is kept in this page's URL)");
    }
  });
  app = new App(root, transport, host);
  root.playground = app;
  window.chainrulePlayground = app;
  return app;
}

const pageRoot = typeof document !== "undefined" && document.getElementById("chainrule-playground");
if (pageRoot && pageRoot.getAttribute("data-socket")) startPage(pageRoot);

// ---- host 2: Jupyter (anywidget) ---------------------------------------------------------------------------
function render({model, el}) {
  const handlers = [];
  const onMsg = (msg) => handlers.forEach((f) => f(msg));
  model.on("msg:custom", onMsg);
  const transport = {send(msg) { model.send(msg); }, onMessage(f) { handlers.push(f); }};
  const root = document.createElement("div");
  el.appendChild(root);
  const app = new App(root, transport, {noDownload: false});
  root.playground = app;
  model.send({type: "hello"});
  return () => model.off("msg:custom", onMsg);
}

export default {render};
export {App, render, startPage};
