/** Where the CLI reads and writes: the process's streams in main.ts, strings in the tests. */
export interface Io {
  env: Record<string, string | undefined>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  stdin?: AsyncIterable<Buffer | string>;
}

export async function readStdin(io: Io): Promise<string> {
  let text = '';
  for await (const chunk of io.stdin ?? process.stdin) text += chunk.toString();
  return text;
}
