/**
 * Cognito pre-token-generation trigger (event version 3): puts the claims the API reads into the access
 * token (functions/http/api.ts checks `role`, and `station_id` for officers).
 *
 * - Client-credentials tokens (only the card-station app client has that grant): role `card-station`.
 * - Staff sign-ins: the role is the user's one group, `officer` or `ops`; an officer also gets the
 *   `station_id` from the `custom:station_id` attribute, which only ops can set (the app client cannot
 *   write it). A user in both groups, in neither, or an officer without a valid station gets no token:
 *   separation of duties is enforced here, not left to whoever adds groups.
 */

export const STAFF_ROLES = ['officer', 'ops'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

const STATION_ID = /^[A-Z0-9]{2,10}$/;

export interface PreTokenGenerationEvent {
  triggerSource: string;
  request: {
    userAttributes?: Record<string, string>;
    groupConfiguration?: { groupsToOverride?: string[] };
  };
  response: Record<string, unknown>;
}

export class TokenRefused extends Error {
  override readonly name = 'TokenRefused';
}

/** The claims to add for one token request (throws TokenRefused when no token may be issued). */
export const claimsFor = (event: PreTokenGenerationEvent): Record<string, string> => {
  if (event.triggerSource === 'TokenGeneration_ClientCredentials') return { role: 'card-station' };
  const groups = event.request.groupConfiguration?.groupsToOverride ?? [];
  const roles = STAFF_ROLES.filter((r) => groups.includes(r));
  if (roles.length !== 1) {
    throw new TokenRefused('a staff user must be in exactly one of the groups officer, ops');
  }
  const role = roles[0]!;
  if (role === 'ops') return { role };
  const station = event.request.userAttributes?.['custom:station_id'] ?? '';
  if (!STATION_ID.test(station)) {
    throw new TokenRefused('an officer needs custom:station_id (2-10 capital letters or digits)');
  }
  return { role, station_id: station };
};

export const handler = async (event: PreTokenGenerationEvent): Promise<PreTokenGenerationEvent> => {
  const claims = claimsFor(event);
  event.response = {
    claimsAndScopeOverrideDetails: {
      accessTokenGeneration: { claimsToAddOrOverride: claims },
      ...(event.triggerSource === 'TokenGeneration_ClientCredentials'
        ? {}
        : { idTokenGeneration: { claimsToAddOrOverride: claims } }),
    },
  };
  return event;
};
