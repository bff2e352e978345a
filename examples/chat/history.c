/*
 * history: the last HISTORY_MAX messages of a room (see history.h).
 *
 * One key per message rather than one JSON array value: appending then
 * writes three small entries (the message, "seq", the delete of the
 * oldest) whatever the size of the history, where an array would be
 * parsed and rewritten whole - up to 50 messages - on every "say" of a
 * busy room. The cost moves to the newcomer, whose connect walks at most
 * HISTORY_MAX keys in one range scan, and joins are rarer than messages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

#define HISTORY_PREFIX	"msg:"
#define HISTORY_SEQ	"seq"
#define HISTORY_KEY_SIZE	(sizeof(HISTORY_PREFIX) + 20)

static void
history_key(uint64_t seq, char key[HISTORY_KEY_SIZE])
{
	snprintf(key, HISTORY_KEY_SIZE, HISTORY_PREFIX "%020" PRIu64, seq);
}

/* The last sequence number given, 0 for a room that never had one. */
static int
history_seq(torpor_event *ev, uint64_t *seq)
{
	const void	*val;
	const char	*p;
	size_t		 len, i;
	uint64_t	 n = 0;
	int		 rc;

	if ((rc = torpor_get(ev, HISTORY_SEQ, &val, &len)) == -ENOENT) {
		*seq = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	p = val;
	if (len == 0 || len > 19)
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		n = n * 10 + (uint64_t)(p[i] - '0');
	}
	*seq = n;
	return 0;
}

int
history_append(torpor_event *ev, const char *json, size_t len)
{
	char		key[HISTORY_KEY_SIZE], num[24];
	uint64_t	seq;
	int		rc, n;

	if ((rc = history_seq(ev, &seq)) != 0)
		return rc;
	seq++;
	history_key(seq, key);
	if ((rc = torpor_put(ev, key, json, len)) != 0)
		return rc;
	n = snprintf(num, sizeof num, "%" PRIu64, seq);
	if ((rc = torpor_put(ev, HISTORY_SEQ, num, (size_t)n)) != 0)
		return rc;
	/* Exactly one message falls out per append once the room is full. */
	if (seq <= HISTORY_MAX)
		return 0;
	history_key(seq - HISTORY_MAX, key);
	return torpor_delete(ev, key);
}

static int
history_add(const char *key, const void *val, size_t len, void *arg)
{
	cJSON	*array = arg, *item;

	(void)key;
	/* A value that does not parse is skipped, not fatal for a join. */
	if ((item = cJSON_ParseWithLength(val, len)) == NULL)
		return 0;
	if (!cJSON_AddItemToArray(array, item)) {
		cJSON_Delete(item);
		return -ENOMEM;
	}
	return 0;
}

int
history_load(torpor_event *ev, cJSON *array)
{
	int	rc;

	if ((rc = torpor_list(ev, HISTORY_PREFIX, history_add, array)) != 0)
		return rc;
	/*
	 * More than HISTORY_MAX keys only if an older build kept more; the
	 * newest are the ones to show.
	 */
	while (cJSON_GetArraySize(array) > HISTORY_MAX)
		cJSON_DeleteItemFromArray(array, 0);
	return 0;
}
