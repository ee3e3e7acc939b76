/*
 * NOT Oracle's header. A stand-in with a deliberately different layout, used by
 * `make test-siebel` to prove that the driver compiles unchanged against a scapi.h
 * other than ours (-DCCE_SIEBEL_SCAPI_HEADER='<scapi.h>'): list members in another
 * order, other integer widths, and a client interface reached through a table pointer
 * and <Method>_Helper macros, as public driver code that uses the real header does.
 */
#ifndef OTHER_SCAPI_H
#define OTHER_SCAPI_H
#include <time.h>

#define SCAPI_VERSION 2
#define ISCAPI __attribute__((visibility("default")))

typedef unsigned short ISC_CHAR;
typedef ISC_CHAR *ISC_STRING;
typedef int ISC_RESULT;
typedef unsigned char ISC_BOOLEAN;
typedef void *ISC_HANDLE;
typedef void *ISC_DRIVER_HANDLE;
typedef void *ISC_SERVICE_HANDLE;
typedef void *ISC_CLIENT_HANDLE;

struct ISC_KeyValue { ISC_STRING paramValue; ISC_STRING paramName; };
struct ISC_KVParamList { int len; struct ISC_KeyValue *dataItems; };
struct ISC_StrParamList { int len; ISC_STRING *dataItems; };
struct ISC_LongParamList { int len; long *dataItems; };

enum SCErrorCode { SC_EC_OK = 0, SC_EC_ERROR = 1, SC_EC_CMD_NOT_SUPPORTED = 2,
    SC_EC_MEDIA_TYPE_NOT_SUPPORTED = 3, SC_EC_INVALID_HANDLE = 4, SC_EC_OUT_OF_MEMORY = 5,
    SC_EC_NETWORK_ERROR = 6, SC_EC_LIB_LOAD_ERR = 7, SC_EC_FUNC_NOT_RESOLVED = 8,
    SC_EC_DRIVER_CREATION_ERR = 9, SC_EC_DRIVER_RELEASE_ERR = 10, SC_EC_SERVICE_CREATION_ERR = 11,
    SC_EC_SERVICE_RELEASE_ERR = 12, SC_EC_INVALID_ITEM_TRACKING_ID = 13, SC_EC_CLIENT_INTERFACE_ERR = 14,
    SC_EC_SENDMSG_FAILED_RETRY = 15, SC_EC_IMPOBJ_CREATE_ERR = 16, SC_EC_INVALID_LICENSE = 17,
    SC_EC_WORK_ITEM_WRONG_STATE = 18, SC_EC_DRIVER_SPECIFIC = 1000 };
enum SCCommandFlag { SC_CF_NOTSUPPORTED = 1, SC_CF_DISABLED = 2, SC_CF_CHECKED = 4, SC_CF_BLINKING = 8,
    SC_CF_NOPARAMSOK = 16, SC_CF_STRPARAMSOK = 32 };
enum SCCommandTypeEx { SC_CT_MAKECALL = 1, SC_CT_SENDMESSAGE = 2 };
enum SCWorkItemMode { SC_WM_INBOUND = 1, SC_WM_OUTBOUND = 2 };
enum SCObjectProperty { SC_OP_ONOFF = 1, SC_OP_AGENTID = 2, SC_OP_ISNOTREADY = 4, SC_OP_ISBUSY = 5,
    SC_OP_DESCRIPTION = 7, SC_OP_TIMEINQUEUE = 9, SC_OP_QUEUEID = 12, SC_OP_ISLOGON = 13 };

struct ISC_CLIENT_TABLE {
    ISC_RESULT (*ShowStatusText)(ISC_CLIENT_HANDLE, const ISC_STRING);
    ISC_RESULT (*HandleEvent)(ISC_CLIENT_HANDLE, const ISC_STRING, const struct ISC_KVParamList *, ISC_BOOLEAN,
                              const ISC_STRING);
    ISC_RESULT (*HandleError)(ISC_CLIENT_HANDLE, const ISC_STRING, const ISC_STRING);
    ISC_RESULT (*CacheCommandInformation)(ISC_CLIENT_HANDLE, const struct ISC_StrParamList *,
                                          const struct ISC_StrParamList *, const struct ISC_LongParamList *);
    ISC_RESULT (*UpdateObjectInformation)(ISC_CLIENT_HANDLE, const ISC_STRING, const ISC_STRING,
                                          const struct ISC_KVParamList *);
    ISC_RESULT (*IndicateNewWorkItem)(ISC_CLIENT_HANDLE, const ISC_STRING, const ISC_STRING, const ISC_STRING,
                                      enum SCWorkItemMode);
    ISC_RESULT (*WorkItemStarted)(ISC_CLIENT_HANDLE, const ISC_STRING, const ISC_STRING, const ISC_STRING,
                                  const ISC_STRING, time_t);
    ISC_RESULT (*WorkItemReleased)(ISC_CLIENT_HANDLE, const ISC_STRING, time_t);
    ISC_RESULT (*WorkItemSuspended)(ISC_CLIENT_HANDLE, const ISC_STRING);
    ISC_RESULT (*WorkItemResumed)(ISC_CLIENT_HANDLE, const ISC_STRING);
};
struct ISC_CLIENT_INTERFACE { const struct ISC_CLIENT_TABLE *table; ISC_CLIENT_HANDLE handle; };

#define ShowStatusText_Helper(ci, ...) ((ci).table->ShowStatusText((ci).handle, __VA_ARGS__))
#define HandleEvent_Helper(ci, ...) ((ci).table->HandleEvent((ci).handle, __VA_ARGS__))
#define HandleError_Helper(ci, ...) ((ci).table->HandleError((ci).handle, __VA_ARGS__))
#define CacheCommandInformation_Helper(ci, ...) ((ci).table->CacheCommandInformation((ci).handle, __VA_ARGS__))
#define UpdateObjectInformation_Helper(ci, ...) ((ci).table->UpdateObjectInformation((ci).handle, __VA_ARGS__))
#define IndicateNewWorkItem_Helper(ci, ...) ((ci).table->IndicateNewWorkItem((ci).handle, __VA_ARGS__))
#define WorkItemStarted_Helper(ci, ...) ((ci).table->WorkItemStarted((ci).handle, __VA_ARGS__))
#define WorkItemReleased_Helper(ci, ...) ((ci).table->WorkItemReleased((ci).handle, __VA_ARGS__))
#define WorkItemSuspended_Helper(ci, ...) ((ci).table->WorkItemSuspended((ci).handle, __VA_ARGS__))
#define WorkItemResumed_Helper(ci, ...) ((ci).table->WorkItemResumed((ci).handle, __VA_ARGS__))

#endif
