/** A checker name: what `pc_name` returns, what configs and `--checker` use, a file name too. */
export const CHECKER_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
