// Tiny look-alike previews of the named datasets for the picker, generated on
// the page (the real data comes from the server). Pure and deterministic.

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function gaussian(r) {
  const u = Math.max(1e-9, r());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/**
 * Points in (−6, 6)² with a class (kind "class") or a value in [−1, 1] (kind "value").
 * @returns {{kind: "class"|"value"|"line", points: number[][], values: number[]}}
 */
export function thumbPoints(name, n = 140) {
  const r = rng(name.split("").reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
  const u = () => r() * 12 - 6;
  const points = [];
  const values = [];
  const add = (x, y, v) => {
    points.push([x, y]);
    values.push(v);
  };
  switch (name) {
    case "circle":
      for (let i = 0; i < n; i++) {
        const inner = i % 2 === 0;
        const rad = inner ? r() * 2.5 : 3.5 + r() * 1.5;
        const a = r() * 2 * Math.PI;
        add(rad * Math.cos(a), rad * Math.sin(a), inner ? 1 : 0);
      }
      return { kind: "class", points, values };
    case "xor":
      for (let i = 0; i < n; i++) {
        const x = u();
        const y = u();
        add(x, y, x * y >= 0 ? 1 : 0);
      }
      return { kind: "class", points, values };
    case "gauss":
      for (let i = 0; i < n; i++) {
        const c = i % 2 ? 2 : -2;
        add(c + gaussian(r), c + gaussian(r), i % 2);
      }
      return { kind: "class", points, values };
    case "spiral":
    case "spiral3": {
      const arms = name === "spiral" ? 2 : 3;
      for (let i = 0; i < n; i++) {
        const k = i % arms;
        const t = r() * 1.5 * 2 * Math.PI;
        const rad = (t / (3 * Math.PI)) * 5.5;
        const a = t + (k * 2 * Math.PI) / arms;
        add(rad * Math.cos(a) + gaussian(r) * 0.15, rad * Math.sin(a) + gaussian(r) * 0.15, arms === 2 ? 1 - k : k);
      }
      return { kind: "class", points, values };
    }
    case "moons":
      for (let i = 0; i < n; i++) {
        const a = r() * Math.PI;
        if (i % 2) add(3 * Math.cos(a) - 1.5, 3 * Math.sin(a) - 0.8, 1);
        else add(3 * Math.cos(a + Math.PI) + 1.5, 3 * Math.sin(a + Math.PI) + 0.8, 0);
      }
      return { kind: "class", points, values };
    case "checkerboard":
      for (let i = 0; i < n; i++) {
        const x = u();
        const y = u();
        add(x, y, (Math.floor((x + 6) / 3) + Math.floor((y + 6) / 3)) % 2);
      }
      return { kind: "class", points, values };
    case "blobs":
      for (let i = 0; i < n; i++) {
        const k = i % 3;
        const a = (k * 2 * Math.PI) / 3 + 0.5;
        add(3.5 * Math.cos(a) + gaussian(r) * 0.9, 3.5 * Math.sin(a) + gaussian(r) * 0.9, k);
      }
      return { kind: "class", points, values };
    case "reg-plane":
      for (let i = 0; i < n; i++) {
        const x = u();
        const y = u();
        add(x, y, (x + y) / 12);
      }
      return { kind: "value", points, values };
    case "reg-gauss":
      for (let i = 0; i < n; i++) {
        const x = u();
        const y = u();
        const v = Math.exp(-((x - 2) ** 2 + (y - 2) ** 2) / 4) - Math.exp(-((x + 2) ** 2 + (y + 2) ** 2) / 4) + 0.6 * Math.exp(-((x + 3) ** 2 + (y - 3) ** 2) / 3);
        add(x, y, v);
      }
      return { kind: "value", points, values };
    case "sine":
      for (let i = 0; i < n; i++) {
        const x = u();
        add(x, Math.sin(x) * 4 + gaussian(r) * 0.3, 0);
      }
      return { kind: "line", points, values };
    default:
      for (let i = 0; i < n; i++) add(u(), u(), 0);
      return { kind: "unknown", points, values };
  }
}
