import { resolve } from 'path';
import { App, Chart, YamlOutputType } from 'cdk8s';
import { loadImageBuilderProps } from './lib/config/to-props';
import { ImageBuilder } from './lib/constructs/image-builder';
import { runCli } from './lib/output/cli';
import { synthFiles, writeDist } from './lib/output/write-dist';

// Composition only: builds.yaml → typed props, the chart, dist/.
runCli(() => {
  const props = loadImageBuilderProps(process.env.BUILDS_CONFIG ?? 'builds.yaml');
  const app = new App({ yamlOutputType: YamlOutputType.FILE_PER_CHART, recordConstructMetadata: false });
  const chart = new Chart(app, 'image-builder', { disableResourceNameHashes: true });
  new ImageBuilder(chart, 'ImageBuilder', props);
  // Everything is synthesized and checked in memory first; dist/ changes only when all of it is
  // good, and then never half-way (lib/output/write-dist.ts).
  const files = synthFiles(app);
  const outdir = process.env.CDK8S_OUTDIR ?? 'dist';
  writeDist(outdir, files);
  // `cdk8s synth` (cdk8s.yaml) points CDK8S_OUTDIR at dist/ and this at its own scratch folder,
  // which it deletes before running the app and reads afterwards for the validation plugin.
  const copyTo = process.env.IMAGE_BUILDER_COPY_TO;
  if (copyTo && resolve(copyTo) !== resolve(outdir)) writeDist(copyTo, files);
});
