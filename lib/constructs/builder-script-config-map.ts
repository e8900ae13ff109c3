import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { BUILD_SCRIPT, SCRIPT_FILE } from './builder-script';
import { standardLabels } from './labels';

/** Name of the ConfigMap ImageBuilder shares between all its builders. */
export const BUILDER_SCRIPT_CONFIG_MAP = 'image-builder-script';

/** Name of the ConfigMap holding the buildkit engine's script, shared by its builders. */
export const BUILDKIT_SCRIPT_CONFIG_MAP = 'image-builder-buildkit-script';

export interface BuilderScriptConfigMapProps {
  /**
   * Name of the ConfigMap.
   * @default BUILDER_SCRIPT_CONFIG_MAP
   */
  readonly name?: string;

  /**
   * The script's key (its file name where mounted).
   * @default SCRIPT_FILE
   */
  readonly file?: string;

  /**
   * The script: one of the engines' constant scripts.
   * @default BUILD_SCRIPT (the docker engine's)
   */
  readonly script?: string;
}

/**
 * A builder script (BUILD_SCRIPT, key `build.sh`; or the buildkit engine's) as a ConfigMap, mounted
 * read-only by builders. One object holds the script however many builds
 * there are, so a change to it is one hunk in a dist/ diff, and builder Jobs
 * differ only in their parameters (env).
 */
export class BuilderScriptConfigMap extends Construct {
  public readonly name: string;
  public readonly configMap: kplus.ConfigMap;

  constructor(scope: Construct, id: string, props: BuilderScriptConfigMapProps = {}) {
    super(scope, id);
    this.name = props.name ?? BUILDER_SCRIPT_CONFIG_MAP;
    this.configMap = new kplus.ConfigMap(this, 'ConfigMap', {
      metadata: { name: this.name, labels: standardLabels('builder', this.name) },
      data: { [props.file ?? SCRIPT_FILE]: props.script ?? BUILD_SCRIPT },
    });
  }
}
