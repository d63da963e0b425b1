// `npm run bench:cluster`: the pipeline's posts/s on a Redis Cluster beside one Redis, in one run (the row
// `npm run bench` also prints). BENCH_POSTS (default 300) posts per run.
import { cpus } from 'node:os';
import { startRedisCluster } from '../test/support/redis-cluster.ts';
import { fmt, printTable } from './lib.ts';
import { fresh, pipelineRate } from './pipeline.ts';

const posts = Number(process.env.BENCH_POSTS ?? 300);
const one = await fresh((t) => pipelineRate(t, posts, true));
const cluster = await startRedisCluster();
let onCluster: number;
try {
  onCluster = await fresh((t) => pipelineRate(t, posts, true), { REDIS_CLUSTER_NODES: cluster.nodes });
} finally {
  await cluster.cleanup();
}
printTable(
  `Redis Cluster vs one Redis (${cpus().length} cores, Node ${process.version}, ${new Date().toISOString()})`,
  [
    {
      benchmark: 'pipeline posts/s on a Redis Cluster (3 masters + 3 replicas), instant providers',
      measured: fmt(onCluster),
      baseline: `${fmt(one)} (one Redis)`,
      ratio: `${fmt(onCluster / one, 2)}×`,
    },
  ],
);
process.exit(0);
