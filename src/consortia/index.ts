/** Consortia: the COUNTER members list and one provider per member, kept in step with it. */
export {
  consortiumLinkOf,
  keepMembersInStep,
  type ConsortiumLink,
  type KeepInStepOptions,
  type KeepInStepResult,
  type MemberUpdate,
  type NewMemberProvider,
} from './keep-in-step.ts';
export {
  membersRequest,
  MembersError,
  parseMembers,
  type ConsortiumMember,
  type InstitutionId,
  type MembersAnswer,
  type MembersErrorCode,
  type MembersRequest,
  type ParseMembersOptions,
} from './members.ts';
export { fetchMembers } from './fetch-members.ts';
