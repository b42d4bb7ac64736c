/** A live line per timed phase on a terminal (one line per phase otherwise, e.g. in CI logs). */
export function progress(label: string, seconds: number): () => void {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  if (!tty) {
    process.stderr.write(`[bench] ${label} (${seconds} s)\n`);
    return () => {};
  }
  const draw = () => {
    const done = Math.min(seconds, (Date.now() - started) / 1000);
    const width = 24;
    const filled = Math.round((done / seconds) * width);
    process.stderr.write(`\r[bench] ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done.toFixed(0)}/${seconds} s`);
  };
  draw();
  const timer = setInterval(draw, 500);
  return () => {
    clearInterval(timer);
    draw();
    process.stderr.write('\n');
  };
}
