/** The class metrics `show metrics` renders (README "Metrics"): one list for every test that looks for them. */
export const CLASS_METRICS = [
  'pathcheck_checker_quarantines_total',
  'pathcheck_classes_quarantined',
  'pathcheck_class_releases_pending',
  'pathcheck_classes_unloaded_total',
  'pathcheck_plugin_output_dropped_bytes_total',
  'pathcheck_plugin_output_lines_total',
];
