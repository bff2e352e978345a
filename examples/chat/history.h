/*
 * history: a chat room's last messages, kept in the room object's
 * storage so that they survive hibernation and gateway restarts.
 *
 * Layout: one key per message, "msg:" and its sequence number as 20
 * zero-padded digits, holding the message frame's JSON; and "seq", the
 * last number given, as decimal text. Zero padding makes byte order
 * (the order torpor_list walks in) the order of the messages.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "torpor.h"

#define HISTORY_MAX	50	/* messages kept per room */

/*
 * Buffers the storage writes that append one message (JSON text) and
 * drop the one that falls out of the last HISTORY_MAX; they commit with
 * the event.
 * @return 0, -EBADMSG when "seq" holds no number, or an SDK error.
 */
int	history_append(torpor_event *ev, const char *json, size_t len);
/*
 * Adds the last HISTORY_MAX stored messages, oldest first, to array as
 * JSON values. A stored value that is not JSON is skipped.
 * @return 0, -ENOMEM, or an SDK error.
 */
int	history_load(torpor_event *ev, cJSON *array);

#endif
