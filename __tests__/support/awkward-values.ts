/**
 * Strings an env value can carry from builds.yaml (repository URL, ref, context,
 * Dockerfile): every YAML indicator, in every position, for the tests that
 * write them with manifestsToYaml and read them back (the yaml package; kubectl).
 */
export const AWKWARD_VALUES = ['a?b', 'a, b', 'x: y', 'a:', 'a:b', '#x', 'a #b', 'a}b', '{x}', '[y]', 'a]', 'https://h:1/p?x=1#f',
  'on', '0755', '- x', '-', '? x', '?', ':', '&a', '*b', '!t', '|', '>', '%p', '@x', '`x', "it's", 'say "hi"', ' lead', 'trail ',
  'a\tb', 'ünïcode', 'a\\b', '', 'main latest', 'a\nb', 'feature/login', 'components/s1-c0', 'git@host:team/x.git'];
