/** Login stages as CSG/NSG carry them (RFC 7143 11.12.3); 2 is reserved. */
export const LoginStage = {
  SecurityNegotiation: 0,
  OperationalNegotiation: 1,
  FullFeaturePhase: 3,
} as const;

export type LoginStage = (typeof LoginStage)[keyof typeof LoginStage];

/** The stage a login is in (CSG): never FullFeaturePhase, which a login moves to rather than negotiates in. */
export function isCurrentStage(n: number): boolean {
  return n === LoginStage.SecurityNegotiation || n === LoginStage.OperationalNegotiation;
}

/** A stage a login may move to (NSG, valid only with the T bit). */
export function isNextStage(n: number): boolean {
  return n === LoginStage.OperationalNegotiation || n === LoginStage.FullFeaturePhase;
}
