// Look-alike thumbnails of the image and sequence datasets for the data panel's picker
// (the plane sets' thumbnails come from thumbs.js). `thumbPicture` is pure (a list of
// shapes to draw); `drawSpatialThumb` paints it on a canvas.

const THREE = [
  "..####..",
  ".#....#.",
  "......#.",
  "...###..",
  "......#.",
  "......#.",
  ".#....#.",
  "..####..",
];

const SHAPES = [
  "........",
  ".##.....",
  ".##..#..",
  ".##.###.",
  ".##..#..",
  ".##.....",
  ".##.....",
  "........",
];

/**
 * What a dataset's thumbnail shows, in a 64×64 box: {cells?: string[] (a bitmap, '#' = ink),
 * lines?: [[x, y], …][], dots?: {x, y, r, colour}[], bars?: {x, y, w, h, colour}[], text?: string}.
 */
export function thumbPicture(name) {
  const orange = [198, 106, 10];
  const blue = [27, 95, 166];
  const grey = [150, 156, 168];
  switch (name) {
    case "digits":
      return { cells: THREE };
    case "shapes":
      return { cells: SHAPES };
    case "sine-next": {
      const pts = [];
      for (let i = 0; i <= 40; i++) pts.push([4 + i * 1.3, 30 - 16 * Math.sin(i / 5)]);
      const dots = [];
      for (let i = 0; i < 9; i++) dots.push({ x: 4 + i * 6.5, y: 30 - 16 * Math.sin((i * 6.5) / 6.5), r: 1.6, colour: blue });
      dots.push({ x: 60, y: 30 - 16 * Math.sin(56 / 6.5), r: 3, colour: orange });
      return { lines: [pts], dots };
    }
    case "adding": {
      const h = [0.3, 0.8, 0.5, 0.2, 0.9, 0.4, 0.6, 0.35, 0.7];
      return {
        bars: h.map((v, i) => ({ x: 5 + i * 6, y: 40 - v * 28, w: 4, h: v * 28, colour: i === 1 || i === 6 ? orange : grey })),
        dots: [1, 6].map((i) => ({ x: 7 + i * 6, y: 46, r: 1.8, colour: orange })),
      };
    }
    case "parity":
      return { text: "1011\n→ 1" };
    case "counting": {
      const bits = [1, 0, 1, 1, 0, 1, 0, 1];
      let c = 0;
      return {
        bars: bits.map((b, i) => {
          c += b;
          return { x: 5 + i * 7, y: 44 - c * 5, w: 5, h: c * 5, colour: b ? blue : grey };
        }),
      };
    }
    case "text":
      return { text: "bac…\n→ k" };
    default:
      return { text: name.slice(0, 6) };
  }
}

/** Paint a dataset's thumbnail onto a 64×64 canvas. */
export function drawSpatialThumb(canvas, name) {
  const size = 64;
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fafbfc";
  ctx.fillRect(0, 0, size, size);
  const pic = thumbPicture(name);
  const rgb = ([r, g, b]) => `rgb(${r},${g},${b})`;
  if (pic.cells) {
    const cell = 6;
    const x0 = (size - cell * 8) / 2;
    pic.cells.forEach((line, r) => {
      [...line].forEach((ch, c) => {
        ctx.fillStyle = ch === "#" ? "#2a2f3a" : "#eef0f4";
        ctx.fillRect(x0 + c * cell, 4 + r * cell, cell - 0.5, cell - 0.5);
      });
    });
  }
  for (const line of pic.lines || []) {
    ctx.strokeStyle = "#9fb6d3";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    line.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
  for (const b of pic.bars || []) {
    ctx.fillStyle = rgb(b.colour);
    ctx.fillRect(b.x, b.y, b.w, b.h);
  }
  for (const d of pic.dots || []) {
    ctx.fillStyle = rgb(d.colour);
    ctx.beginPath();
    ctx.arc(d.x, d.y, d.r, 0, Math.PI * 2);
    ctx.fill();
  }
  if (pic.text) {
    ctx.fillStyle = "#1d2330";
    ctx.font = "600 13px ui-monospace, monospace";
    ctx.textAlign = "center";
    pic.text.split("\n").forEach((t, i) => ctx.fillText(t, size / 2, 22 + i * 16));
  }
}
