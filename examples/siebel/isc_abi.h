/*
 * isc_abi.h: every ABI-sensitive declaration of the libcce Siebel communications driver.
 *
 * Oracle's header for the Siebel Adaptive Communications API (scapi.h) is not public.
 * This header declares the types, structures, constants, client callback table, API
 * version and export macro from the method signatures the Siebel CTI Administration
 * Guide documents ("Developing a Communications Driver"); it contains no Oracle text.
 * Everything the guide leaves open is marked ASSUMPTION below and listed, with the
 * evidence, in docs/siebel.md ("ABI assumptions").
 *
 * Building against Oracle's header instead (a Siebel site has it):
 *
 *     c++ ... -DCCE_SIEBEL_SCAPI_HEADER='<scapi.h>' -I/path/to/siebel/include
 *
 * Then only the real header's declarations are used. The driver calls client-handle
 * methods through one macro, CCE_ISC_CLIENT_CALL(iface_ptr, Method, args...). Its
 * default assumes the layout declared here (a `clientHandle` member followed by one
 * function pointer per method, named like the method); with the real header it
 * defaults to the `<Method>_Helper(iface, args...)` macros seen in public driver code.
 * Define it yourself (-DCCE_ISC_CLIENT_CALL=...) if the real header differs.
 */
#ifndef CCE_SIEBEL_ISC_ABI_H
#define CCE_SIEBEL_ISC_ABI_H

#ifdef CCE_SIEBEL_SCAPI_HEADER
#include CCE_SIEBEL_SCAPI_HEADER

#ifndef CCE_ISC_CLIENT_CALL
#define CCE_ISC_CLIENT_CALL(iface, Method, ...) Method##_Helper((*(iface)), __VA_ARGS__)
#endif
#ifndef CCE_ISC_CLIENT_CALL0
#define CCE_ISC_CLIENT_CALL0(iface, Method) Method##_Helper((*(iface)))
#endif

#else /* our declarations */

#include <stdint.h>
#include <time.h>

/* ASSUMPTION: the API version the channel manager compares with. The guide says
 * "version 2" since 7.5 but not the numeric value of SCAPI_VERSION; it can be
 * overridden at build time (-DSCAPI_VERSION=N) and at load time (environment
 * variable CCE_SIEBEL_SCAPI_VERSION, read by APIVersion). */
#ifndef SCAPI_VERSION
#define SCAPI_VERSION 2
#endif

/* ASSUMPTION: exports are plain C functions resolved by name (cdecl, no decoration). */
#ifndef ISCAPI
#if defined(_WIN32)
#define ISCAPI __declspec(dllexport)
#else
#define ISCAPI __attribute__((visibility("default")))
#endif
#endif

/* Strings: UTF-16 code units in native byte order, NUL-terminated (ASSUMPTION: the
 * termination; no string has a length argument). Never wchar_t: it is 4 bytes on
 * Linux. */
typedef uint16_t ISC_CHAR;
typedef ISC_CHAR *ISC_STRING;

/* ASSUMPTION: `long` result; values are SCErrorCode, 0 = success. */
typedef long ISC_RESULT;
/* ASSUMPTION: int-wide boolean; the driver sends 0/1 and tests the low byte on receipt. */
typedef int ISC_BOOLEAN;

/* Opaque handles, pointer-compatible (ASSUMPTION: void*). */
typedef void *ISC_HANDLE;
typedef void *ISC_DRIVER_HANDLE;
typedef void *ISC_SERVICE_HANDLE;
typedef void *ISC_CLIENT_HANDLE;

/* ASSUMPTION: member names as seen in public driver code; order and the width of
 * `len` are not documented. */
struct ISC_KeyValue {
    ISC_STRING paramName;
    ISC_STRING paramValue;
};
struct ISC_KVParamList {
    struct ISC_KeyValue *dataItems;
    long len;
};
struct ISC_StrParamList {
    ISC_STRING *dataItems;
    long len;
};
struct ISC_LongParamList {
    long *dataItems;
    long len;
};

/* Documented values. */
enum SCErrorCode {
    SC_EC_OK = 0,
    SC_EC_ERROR = 1,
    SC_EC_CMD_NOT_SUPPORTED = 2,
    SC_EC_MEDIA_TYPE_NOT_SUPPORTED = 3,
    SC_EC_INVALID_HANDLE = 4,
    SC_EC_OUT_OF_MEMORY = 5,
    SC_EC_NETWORK_ERROR = 6,
    SC_EC_LIB_LOAD_ERR = 7,
    SC_EC_FUNC_NOT_RESOLVED = 8,
    SC_EC_DRIVER_CREATION_ERR = 9,
    SC_EC_DRIVER_RELEASE_ERR = 10,
    SC_EC_SERVICE_CREATION_ERR = 11,
    SC_EC_SERVICE_RELEASE_ERR = 12,
    SC_EC_INVALID_ITEM_TRACKING_ID = 13,
    SC_EC_CLIENT_INTERFACE_ERR = 14,
    SC_EC_SENDMSG_FAILED_RETRY = 15,
    SC_EC_IMPOBJ_CREATE_ERR = 16,
    SC_EC_INVALID_LICENSE = 17,
    SC_EC_WORK_ITEM_WRONG_STATE = 18,
    SC_EC_DRIVER_SPECIFIC = 1000
};
enum SCCommandFlag {
    SC_CF_NOTSUPPORTED = 1,
    SC_CF_DISABLED = 2,
    SC_CF_CHECKED = 4,
    SC_CF_BLINKING = 8,
    SC_CF_NOPARAMSOK = 16,
    SC_CF_STRPARAMSOK = 32
};
enum SCCommandTypeEx { SC_CT_MAKECALL = 1, SC_CT_SENDMESSAGE = 2 };
enum SCWorkItemMode { SC_WM_INBOUND = 1, SC_WM_OUTBOUND = 2 };
enum SCObjectProperty {
    SC_OP_ONOFF = 1,
    SC_OP_AGENTID = 2,
    SC_OP_ISNOTREADY = 4,
    SC_OP_ISBUSY = 5,
    SC_OP_DESCRIPTION = 7,
    SC_OP_TIMEINQUEUE = 9,
    SC_OP_QUEUEID = 12,
    SC_OP_ISLOGON = 13
};

/* ASSUMPTION (the biggest one): the layout of the client interface that RequestService
 * receives by value. Documented: it carries the client handle and the 13 client
 * methods, each taking the handle first. Not documented: the member order. Here: the
 * handle first, then the methods in alphabetical order. A wrong guess crashes the host:
 * build against the real scapi.h before running inside Siebel. */
struct ISC_CLIENT_INTERFACE {
    ISC_CLIENT_HANDLE clientHandle;
    ISC_RESULT (*BeginBatch)(ISC_CLIENT_HANDLE handle);
    ISC_RESULT (*CacheCommandInformation)(ISC_CLIENT_HANDLE handle,
                                          const struct ISC_StrParamList *commandNames,
                                          const struct ISC_StrParamList *commandDescriptions,
                                          const struct ISC_LongParamList *commandStatuses);
    ISC_RESULT (*CleanAllWorkItem)(ISC_CLIENT_HANDLE handle);
    ISC_RESULT (*EndBatch)(ISC_CLIENT_HANDLE handle);
    ISC_RESULT (*HandleError)(ISC_CLIENT_HANDLE handle, const ISC_STRING clntCmdTrackID,
                              const ISC_STRING error);
    ISC_RESULT (*HandleEvent)(ISC_CLIENT_HANDLE handle, const ISC_STRING name,
                              const struct ISC_KVParamList *fields, ISC_BOOLEAN notifyWhenDone,
                              const ISC_STRING trackingID);
    ISC_RESULT (*IndicateNewWorkItem)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID,
                                      const ISC_STRING oldTrackingID,
                                      const ISC_STRING description,
                                      enum SCWorkItemMode workItemMode);
    ISC_RESULT (*ShowStatusText)(ISC_CLIENT_HANDLE handle, const ISC_STRING text);
    ISC_RESULT (*UpdateObjectInformation)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID,
                                          const ISC_STRING mediaTargetAddr,
                                          const struct ISC_KVParamList *datasetInfo);
    /* ASSUMPTION: time_t as the platform defines it (64-bit on 64-bit Linux). */
    ISC_RESULT (*WorkItemReleased)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID,
                                   time_t stopTime);
    ISC_RESULT (*WorkItemResumed)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID);
    ISC_RESULT (*WorkItemStarted)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID,
                                  const ISC_STRING oldTrackingID, const ISC_STRING description,
                                  const ISC_STRING mediaTargetAddr, time_t startTime);
    ISC_RESULT (*WorkItemSuspended)(ISC_CLIENT_HANDLE handle, const ISC_STRING trackingID);
};

#ifndef CCE_ISC_CLIENT_CALL
#define CCE_ISC_CLIENT_CALL(iface, Method, ...) ((iface)->Method((iface)->clientHandle, __VA_ARGS__))
#endif
#ifndef CCE_ISC_CLIENT_CALL0
#define CCE_ISC_CLIENT_CALL0(iface, Method) ((iface)->Method((iface)->clientHandle))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Driver handle (exported by the driver, resolved by name). */
ISCAPI long APIVersion(void);
ISCAPI ISC_RESULT CreateISCDriverInstance(const ISC_STRING mediaTypeStr,
                                          const ISC_STRING languageCode,
                                          const ISC_STRING connectString,
                                          const struct ISC_KVParamList *datasetParams,
                                          ISC_DRIVER_HANDLE *handle);
ISCAPI ISC_RESULT RequestCommandEventList(const ISC_STRING mediaTypeStr,
                                          struct ISC_StrParamList *commandList,
                                          struct ISC_StrParamList *eventList);
ISCAPI ISC_RESULT RequestService(ISC_DRIVER_HANDLE handle,
                                 const struct ISC_CLIENT_INTERFACE clntInterface,
                                 const ISC_STRING connectString,
                                 const struct ISC_KVParamList *datasetParams,
                                 ISC_SERVICE_HANDLE *serviceHandle);
ISCAPI ISC_RESULT ReleaseISCDriverInstance(ISC_DRIVER_HANDLE handle);
ISCAPI void FreeSCStrParamList(struct ISC_StrParamList strList);
ISCAPI ISC_RESULT GetImplementationObject(ISC_HANDLE key, ISC_HANDLE *impObj);

/* Service handle. */
ISCAPI ISC_RESULT InvokeCommand(ISC_SERVICE_HANDLE handle, const ISC_STRING clntCmdTrackID,
                                const ISC_STRING name, const ISC_STRING stringParam,
                                const struct ISC_KVParamList *datasetParam);
ISCAPI ISC_RESULT InvokeCommandEx(ISC_SERVICE_HANDLE handle, const ISC_STRING clntCmdTrackID,
                                  enum SCCommandTypeEx commandType,
                                  const struct ISC_KVParamList *datasetParam);
ISCAPI ISC_RESULT NotifyEventHandlingFinished(ISC_SERVICE_HANDLE handle,
                                              const ISC_STRING trackingID, ISC_BOOLEAN result);
ISCAPI ISC_RESULT AcceptWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID);
ISCAPI ISC_RESULT ReleaseWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID);
ISCAPI ISC_RESULT SuspendWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID);
ISCAPI ISC_RESULT ResumeWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID);
ISCAPI ISC_RESULT HandleQueuedWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING name,
                                       const struct ISC_KVParamList *fields,
                                       const ISC_STRING trackingID);
ISCAPI ISC_RESULT RevokeQueuedWorkItem(ISC_SERVICE_HANDLE handle, const ISC_STRING trackingID);
ISCAPI ISC_RESULT ReleaseISCServiceInstance(ISC_SERVICE_HANDLE handle);

#ifdef __cplusplus
}
#endif

#endif /* CCE_SIEBEL_SCAPI_HEADER */

#endif /* CCE_SIEBEL_ISC_ABI_H */
