import type { Command } from '../cli/command.js';
import { artifactAttach } from './artifact-attach.js';
import { artifactCreate } from './artifact-create.js';
import { artifactInspect } from './artifact-inspect.js';
import { artifactSign } from './artifact-sign.js';
import { artifactSignRequest } from './artifact-sign-request.js';
import { artifactVerify } from './artifact-verify.js';
import { artifactsDelete, artifactsList, artifactsShow, artifactsUpload } from './artifacts-server.js';
import {
  deploymentsAbort,
  deploymentsAdvance,
  deploymentsCreate,
  deploymentsDevices,
  deploymentsList,
  deploymentsLogs,
  deploymentsPause,
  deploymentsResume,
  deploymentsShow,
  deploymentsWait,
} from './deployments.js';
import { devicesAccept, devicesDecommission, devicesList, devicesPreauthorize, devicesReject, devicesShow } from './devices.js';
import { groupsAdd, groupsCreate, groupsList, groupsRemove } from './groups.js';
import { incidentRevokeReleaseKey } from './incident.js';
import { keyGenerate } from './key-generate.js';
import { provision } from './provision.js';
import { reportsDeployments, reportsSilent, reportsVersions } from './reports.js';
import {
  auditExport,
  auditVerify,
  tokensCreate,
  tokensList,
  tokensRevoke,
  usersCreate,
  usersDisable,
  usersList,
  usersSetRole,
} from './server-admin.js';
import { login, logout } from './server-login.js';
import { sign } from './sign.js';
import { trustInit } from './trust-init.js';
import { trustInspect } from './trust-inspect.js';
import { trustAttach, trustSignRequest } from './trust-offline.js';
import { trustList, trustUpload } from './trust-server.js';
import { trustSign } from './trust-sign.js';
import { trustVerify } from './trust-verify.js';
import { webhooksCreate, webhooksDelete, webhooksDeliveries, webhooksList } from './webhooks.js';

export const COMMANDS: readonly Command[] = [
  keyGenerate,
  trustInit,
  trustSign,
  trustVerify,
  trustInspect,
  trustSignRequest,
  trustAttach,
  trustUpload,
  trustList,
  incidentRevokeReleaseKey,
  artifactCreate,
  artifactSign,
  artifactSignRequest,
  artifactAttach,
  artifactVerify,
  artifactInspect,
  sign,
  login,
  logout,
  usersList,
  usersCreate,
  usersSetRole,
  usersDisable,
  tokensCreate,
  tokensList,
  tokensRevoke,
  auditVerify,
  auditExport,
  devicesList,
  devicesShow,
  devicesAccept,
  devicesReject,
  devicesDecommission,
  devicesPreauthorize,
  groupsCreate,
  groupsAdd,
  groupsRemove,
  groupsList,
  provision,
  artifactsUpload,
  artifactsList,
  artifactsShow,
  artifactsDelete,
  webhooksCreate,
  webhooksList,
  webhooksDelete,
  webhooksDeliveries,
  deploymentsCreate,
  deploymentsList,
  deploymentsShow,
  deploymentsDevices,
  deploymentsLogs,
  deploymentsPause,
  deploymentsResume,
  deploymentsAdvance,
  deploymentsAbort,
  deploymentsWait,
  reportsVersions,
  reportsDeployments,
  reportsSilent,
];
