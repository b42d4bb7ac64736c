/**
 * A client whose every statement's plan — nested ones too, such as those inside a PL/pgSQL function —
 * arrives as a NOTICE (auto_explain with ANALYZE), for tests that assert on plans.
 */
import pg from 'pg';

export interface ExplainingClient {
  client: pg.Client;
  /** NOTICE messages received so far; clear with `notices.length = 0`. */
  notices: string[];
}

export async function explainingClient(url: string): Promise<ExplainingClient> {
  const client = new pg.Client(url);
  const notices: string[] = [];
  await client.connect();
  client.on('notice', (n) => notices.push(n.message ?? ''));
  for (const setting of [
    `LOAD 'auto_explain'`,
    'SET auto_explain.log_min_duration = 0',
    'SET auto_explain.log_nested_statements = on',
    'SET auto_explain.log_analyze = on',
    'SET auto_explain.log_level = notice',
  ])
    await client.query(setting);
  return { client, notices };
}
