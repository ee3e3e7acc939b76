/*
 * A chat handed to an ECE agent, against the embedded ECE simulator, in C: a webhook
 * server polled for events, a conversation, the customer's messages and the agent's
 * events until the conversation completes. Against a real ECE, use your server URL,
 * client key/secret and entry point, and register the webhook URL in ECE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cce.h"

#define CHECK(call)                                                             \
    do {                                                                        \
        cce_status st_ = (call);                                                \
        if (st_ != CCE_OK) {                                                    \
            fprintf(stderr, "%s failed (%d): %s\n", #call, st_, cce_last_error()); \
            exit(1);                                                            \
        }                                                                       \
    } while (0)

/* Copies the string value of "key" in a flat JSON object. */
static void json_str(const char *json, const char *key, char *buf, size_t len) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    buf[0] = 0;
    if (!p) return;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    if (end && (size_t)(end - p) < len) {
        memcpy(buf, p, (size_t)(end - p));
        buf[end - p] = 0;
    }
}

int main(void) {
    ece_sim *sim;
    ece_webhook *hook;
    ece_client *client;
    char *server_url, *hook_url, *result, cfg[512], cmd[512], conv[128], type[32], content[256];

    CHECK(ece_sim_start(NULL, &sim));
    CHECK(ece_sim_urls(sim, &server_url, NULL));
    CHECK(ece_webhook_start("{\"auth\":{\"basic\":{\"username\":\"ece\",\"password\":\"webhook-password\"}}}",
                            NULL, NULL, &hook));
    CHECK(ece_webhook_url(hook, &hook_url));
    snprintf(cmd, sizeof cmd,
             "{\"op\":\"set_webhook\",\"url\":\"%s\",\"basic\":{\"username\":\"ece\",\"password\":\"webhook-password\"}}",
             hook_url);
    CHECK(ece_sim_control(sim, cmd, NULL));

    snprintf(cfg, sizeof cfg,
             "{\"server_url\":\"%s\",\"client_key\":\"sim-key\",\"client_secret\":\"sim-secret\",\"entry_point_id\":1001}",
             server_url);
    CHECK(ece_client_new(cfg, &client));
    CHECK(ece_client_start_conversation(client, "{\"customer\":{\"email\":\"ada@example.com\"}}", &result));
    json_str(result, "id", conv, sizeof conv);
    cce_string_free(result);
    printf("conversation %s\n", conv);

    const char *to_say[] = {"Hello, I need help with my order", "bye"};
    int said = 0, done = 0;
    while (!done) {
        char *ev = NULL;
        CHECK(ece_webhook_poll_event(hook, 10000, &ev));
        json_str(ev, "type", type, sizeof type);
        json_str(ev, "content", content, sizeof content);
        if (strcmp(type, "assigned") == 0) printf("agent assigned: %s\n", content);
        else if (strcmp(type, "startTyping") == 0) printf("agent is typing...\n");
        else if (strcmp(type, "message") == 0) printf("agent: %s\n", content);
        else if (strcmp(type, "complete") == 0) {
            printf("conversation complete\n");
            done = 1;
        }
        if ((strcmp(type, "assigned") == 0 || strcmp(type, "message") == 0) && said < 2) {
            printf("customer: %s\n", to_say[said]);
            CHECK(ece_client_send_message(client, conv, to_say[said++], NULL));
        }
        cce_string_free(ev);
    }

    CHECK(ece_client_free(client));
    CHECK(ece_webhook_stop(hook));
    CHECK(ece_sim_stop(sim));
    cce_string_free(server_url);
    cce_string_free(hook_url);
    return 0;
}
