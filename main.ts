import { App, Chart, YamlOutputType } from 'cdk8s';
import { loadImageBuilderProps } from './lib/config/to-props';
import { ImageBuilder } from './lib/constructs/image-builder';
import { runCli } from './lib/output/cli';

// Composition only: builds.yaml → typed props, the chart, dist/.
runCli(() => {
  const props = loadImageBuilderProps(process.env.BUILDS_CONFIG ?? 'builds.yaml');
  const app = new App({
    outdir: process.env.CDK8S_OUTDIR ?? 'dist',
    yamlOutputType: YamlOutputType.FILE_PER_CHART,
    // Keep dist/ to manifests only: `kubectl apply -f dist/` would choke on the
    // construct-metadata.json that `cdk8s synth` asks for when validations run.
    recordConstructMetadata: false,
  });
  const chart = new Chart(app, 'image-builder', { disableResourceNameHashes: true });
  new ImageBuilder(chart, 'ImageBuilder', props);
  app.synth();
});
