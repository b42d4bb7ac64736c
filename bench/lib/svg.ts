/** Minimal SVG charts for benchmark results (no dependency: a line chart and a grouped bar chart). */
const W = 720;
const H = 360;
const PAD = { l: 70, r: 20, t: 40, b: 60 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / p) * p;
}

function frame(title: string, yMax: number, yLabel: string, xLabel: string, body: string, legend: string[]): string {
  const ticks = Array.from({ length: 6 }, (_, i) => (yMax * i) / 5);
  const plotH = H - PAD.t - PAD.b;
  const y = (v: number) => PAD.t + plotH - (v / yMax) * plotH;
  const grid = ticks
    .map(
      (t) =>
        `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${PAD.l - 6}" y="${y(t) + 4}" text-anchor="end">${Number(t.toPrecision(3))}</text>`,
    )
    .join('');
  const leg = legend
    .map(
      (name, i) =>
        `<rect x="${PAD.l + i * 150}" y="${H - 18}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${PAD.l + i * 150 + 14}" y="${H - 9}">${esc(name)}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/><text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>
${grid}<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">${esc(yLabel)}</text>
<text x="${(W + PAD.l) / 2}" y="${H - 30}" text-anchor="middle">${esc(xLabel)}</text>${body}${leg}</svg>\n`;
}

export function lineChart(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: { name: string; points: [number, number][] }[];
}): string {
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  const yMax = niceMax(Math.max(...o.series.flatMap((s) => s.points.map((p) => p[1])), 1));
  const plotW = W - PAD.l - PAD.r;
  const plotH = H - PAD.t - PAD.b;
  const x = (v: number) => PAD.l + ((v - xMin) / (xMax - xMin || 1)) * plotW;
  const y = (v: number) => PAD.t + plotH - (v / yMax) * plotH;
  const body = o.series
    .map(
      (s, i) =>
        `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2" points="${s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`,
    )
    .join('');
  const xTicks = Array.from({ length: 6 }, (_, i) => xMin + ((xMax - xMin) * i) / 5)
    .map((t) => `<text x="${x(t)}" y="${H - PAD.b + 14}" text-anchor="middle">${Number(t.toPrecision(3))}</text>`)
    .join('');
  return frame(
    o.title,
    yMax,
    o.yLabel,
    o.xLabel,
    body + xTicks,
    o.series.map((s) => s.name),
  );
}

export function barChart(o: { title: string; yLabel: string; groups: string[]; series: { name: string; values: number[] }[] }): string {
  const yMax = niceMax(Math.max(...o.series.flatMap((s) => s.values), 1));
  const plotW = W - PAD.l - PAD.r;
  const plotH = H - PAD.t - PAD.b;
  const groupW = plotW / o.groups.length;
  const barW = (groupW * 0.8) / o.series.length;
  const y = (v: number) => PAD.t + plotH - (v / yMax) * plotH;
  const bars = o.groups
    .map((g, gi) => {
      const bx = PAD.l + gi * groupW + groupW * 0.1;
      return (
        o.series
          .map((s, si) => {
            const v = s.values[gi] ?? 0;
            return `<rect x="${(bx + si * barW).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(PAD.t + plotH - y(v)).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(s.name)} ${esc(g)}: ${v}</title></rect>`;
          })
          .join('') + `<text x="${bx + groupW * 0.4}" y="${H - PAD.b + 14}" text-anchor="middle">${esc(g)}</text>`
      );
    })
    .join('');
  return frame(
    o.title,
    yMax,
    o.yLabel,
    '',
    bars,
    o.series.map((s) => s.name),
  );
}
