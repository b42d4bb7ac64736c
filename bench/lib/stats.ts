/** Repeated measurements of one contender (drain), reported as the median with min and max. */

/** One measurement. */
export interface Run {
  jobsPerSecond: number;
  seconds: number;
  postgresCpuSeconds?: number;
  maxRssMb?: number;
}

/** The runs of one contender, summed up. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: Run[];
  /** PostgreSQL CPU-seconds per 100,000 jobs, median over the runs. */
  postgresCpuPer100k?: number;
  maxRssMb?: number;
  skipped?: string;
}

const medianOf = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

export function statOf(runs: Run[], jobs: number): Stat {
  const rates = runs.map((r) => r.jobsPerSecond);
  const cpu = runs.flatMap((r) => (r.postgresCpuSeconds === undefined ? [] : [(r.postgresCpuSeconds * 100_000) / jobs]));
  const rss = runs.flatMap((r) => (r.maxRssMb === undefined ? [] : [r.maxRssMb]));
  return {
    median: Math.round(medianOf(rates)),
    min: Math.round(Math.min(...rates)),
    max: Math.round(Math.max(...rates)),
    runs,
    ...(cpu.length ? { postgresCpuPer100k: Math.round(medianOf(cpu) * 100) / 100 } : {}),
    ...(rss.length ? { maxRssMb: Math.round(Math.max(...rss)) } : {}),
  };
}
