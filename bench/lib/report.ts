/** Results: JSON and an SVG chart per scenario under bench/results/. */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resultsDir } from './env.ts';

export async function writeChart(name: string, svg: string): Promise<string> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.svg`);
  await writeFile(file, svg);
  return file;
}
