// Path states, libmultipath numbering (docs/ABI.md, "Path states").

export const PATH_WILD: i32 = 0;
export const PATH_UNCHECKED: i32 = 1;
export const PATH_DOWN: i32 = 2;
export const PATH_UP: i32 = 3;
export const PATH_SHAKY: i32 = 4;
export const PATH_GHOST: i32 = 5;
export const PATH_PENDING: i32 = 6;
export const PATH_TIMEOUT: i32 = 7;
export const PATH_REMOVED: i32 = 8;
export const PATH_DELAYED: i32 = 9;
export const PATH_DISCONNECTED: i32 = 10;
/** Highest valid state; the host reports anything above as `wild`. */
export const PATH_MAX_STATE: i32 = 10;
