/**
 * The one Node.js image the project runs in the cluster: the retention CronJob's
 * (RETENTION_IMAGE) and the base of the build trigger's image (trigger/Dockerfile's
 * `FROM`). Node 24 LTS at the exact release of the devDependency `node`, so the tests
 * run the programs on the Node they get in the cluster (a unit test keeps the three
 * equal). The cluster test assembles a stand-in under this name from that binary
 * (scripts/cluster/images.mjs reads it from here).
 */
export const NODE_IMAGE = 'node:24.21.0-alpine';

/** The non-root user of the official Node images (`node`, uid and gid 1000). */
export const NODE_IMAGE_USER = 1000;
