<?php
/*
 * pingpong.php - the torpor reference application (DESIGN.md, "The
 * reference application") for PHP-FPM: the same protocol as
 * examples/pingpong/pingpong.c, in one script that php-fpm runs once per
 * event. See examples/php/README.md and doc/PROTOCOL.md, "Handlers in
 * other languages".
 *
 * What arrives: the event in $_SERVER (TORPOR_EVENT, TORPOR_CONNECTION,
 * TORPOR_ATTACHMENT, ...: the FastCGI params), a message's payload in
 * php://input. What goes back: a CGI response, that is header() lines and
 * the body PHP prints. The object keeps no storage of its own: each
 * connection's state lives in its attachment, which the gateway holds
 * between events. The alarm needs the attachments of every connection of
 * the object: it reads the gateway env's "connections" DB (LMDB, read-only)
 * through PHP's FFI and liblmdb, since PHP's dba extension can open only
 * an LMDB env's unnamed main DB (see lmdb_connections()).
 *
 * Settings (php-fpm pool env[...] lines; in external mode the gateway's
 * own environment does not reach PHP): HEARTBEAT_INTERVAL_MS (20000),
 * CONNECTION_TIMEOUT_MS (60000), ALARM_INTERVAL_MS (60000).
 */

declare(strict_types=1);

const WELCOME_TEXT = 'Connected to Hibernatable WebSocket Server';
/* Clients use the heartbeat as a JavaScript timer delay, which is 32-bit. */
const SETTING_MAX = 2147483647;
/* JSON.stringify's output: no escaped slashes, non-ASCII or U+2028/9. */
const JSON_FLAGS = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE |
    JSON_UNESCAPED_LINE_TERMINATORS | JSON_THROW_ON_ERROR;
/* Deeper JSON than this is echoed as raw text (JSON.parse has no limit). */
const JSON_DEPTH = 10000;

/* liblmdb, for the alarm's walk over the gateway env (PROTOCOL.md 8). */
const LMDB_LIBRARY = 'liblmdb.so.0';
const MDB_RDONLY = 0x20000;
const MDB_NOTLS = 0x200000;
const MDB_NEXT = 8;
const MDB_SET_RANGE = 17;
const MDB_NOTFOUND = -30798;

final class HandlerError extends RuntimeException
{
}

/* An unset (or empty) setting takes its default; a set one must be a count. */
function setting(string $name, int $default): int
{
    $v = getenv($name);
    if ($v === false || $v === '') {
        return $default;
    }
    if (!preg_match('/^[0-9]{1,10}$/', $v) || (int)$v < 1 ||
        (int)$v > SETTING_MAX) {
        throw new HandlerError(sprintf('%s="%s": want a number of ' .
            'milliseconds from 1 to %d', $name, $v, SETTING_MAX));
    }
    return (int)$v;
}

function now_ms(): int
{
    return (int)floor(microtime(true) * 1000);
}

/* Like JavaScript's Date.prototype.toISOString. */
function iso_time(int $ms): string
{
    return gmdate('Y-m-d\TH:i:s', intdiv($ms, 1000)) .
        sprintf('.%03dZ', $ms % 1000);
}

/*
 * Decodes bytes as UTF-8 the way TextDecoder does: each maximal invalid
 * subsequence becomes one U+FFFD (the same rules as pingpong.c). Only
 * called for binary frames that are not valid UTF-8 already.
 */
function utf8_decode_lossy(string $in): string
{
    $out = '';
    $len = strlen($in);
    $need = $seen = $start = 0;
    $lo = 0x80;
    $hi = 0xbf;
    for ($i = 0; $i < $len; $i++) {
        $b = ord($in[$i]);
        if ($need === 0) {
            $start = $i;
            $seen = 0;
            if ($b <= 0x7f) {
                $out .= $in[$i];
            } elseif ($b >= 0xc2 && $b <= 0xdf) {
                $need = 1;
            } elseif ($b >= 0xe0 && $b <= 0xef) {
                $need = 2;
                $lo = $b === 0xe0 ? 0xa0 : 0x80;
                $hi = $b === 0xed ? 0x9f : 0xbf;
            } elseif ($b >= 0xf0 && $b <= 0xf4) {
                $need = 3;
                $lo = $b === 0xf0 ? 0x90 : 0x80;
                $hi = $b === 0xf4 ? 0x8f : 0xbf;
            } else {
                $out .= "\u{FFFD}";
            }
            continue;
        }
        if ($b < $lo || $b > $hi) {
            /* The broken prefix is replaced; this byte may start afresh. */
            $need = 0;
            $lo = 0x80;
            $hi = 0xbf;
            $out .= "\u{FFFD}";
            $i--;
            continue;
        }
        $lo = 0x80;
        $hi = 0xbf;
        if (++$seen === $need) {
            $out .= substr($in, $start, $need + 1);
            $need = 0;
        }
    }
    if ($need !== 0) {
        $out .= "\u{FFFD}";
    }
    return $out;
}

/*
 * The payload as text. A text frame is valid UTF-8 (the gateway checked);
 * a binary one goes through TextDecoder's rules, which drop a leading BOM.
 */
function payload_text(): string
{
    $raw = file_get_contents('php://input');
    if ($raw === false) {
        throw new HandlerError('cannot read the request body');
    }
    if (($_SERVER['TORPOR_FRAME'] ?? 'text') !== 'binary') {
        return $raw;
    }
    if (strncmp($raw, "\xef\xbb\xbf", 3) === 0) {
        $raw = substr($raw, 3);
    }
    return preg_match('//u', $raw) === 1 ? $raw : utf8_decode_lossy($raw);
}

/* A JSON number of ms, as attachments store times; null otherwise. */
function json_ms(mixed $v): ?int
{
    if ((is_int($v) || is_float($v)) && $v >= -9e15 && $v <= 9e15) {
        return (int)$v;
    }
    return null;
}

/* The event's body: one text frame to the event's connection. */
function reply(array $frame): void
{
    header('Content-Type: application/json');
    echo json_encode($frame, JSON_FLAGS);
}

function set_attachment(string $id, int $connectedAt, int $lastPing): void
{
    header('Torpor-Attachment: ' . json_encode(['connectionId' => $id,
        'connectedAt' => $connectedAt, 'lastPing' => $lastPing], JSON_FLAGS));
}

function on_connect(string $id, int $now): void
{
    set_attachment($id, $now, $now);
    reply(['type' => 'welcome', 'message' => WELCOME_TEXT,
        'connectionId' => $id,
        'heartbeatInterval' => setting('HEARTBEAT_INTERVAL_MS', 20000)]);
    /* TORPOR_ALARM is there whenever the object has an alarm. */
    if (!isset($_SERVER['TORPOR_ALARM'])) {
        header('Torpor-Alarm: +' . setting('ALARM_INTERVAL_MS', 60000));
    }
}

function on_message(string $id, int $now): void
{
    $text = payload_text();

    /* Any message is activity: a new lastPing, the rest as it was. */
    $old = json_decode($_SERVER['TORPOR_ATTACHMENT'] ?? '', true);
    $connectedAt = $now;
    if (is_array($old)) {
        if (is_string($old['connectionId'] ?? null) &&
            $old['connectionId'] !== '') {
            $id = $old['connectionId'];
        }
        $connectedAt = json_ms($old['connectedAt'] ?? null) ?? $now;
    }
    set_attachment($id, $connectedAt, $now);

    /* Only a JSON object asks for anything; any other text is echoed. */
    $data = null;
    $t = ltrim($text, " \t\n\r");
    if ($t !== '' && $t[0] === '{') {
        $data = json_decode($text, true, JSON_DEPTH);
    }
    $ts = iso_time($now);
    $type = is_array($data) ? ($data['type'] ?? null) : null;
    if ($type === 'ping') {
        reply(['type' => 'pong', 'timestamp' => $ts, 'connectionId' => $id]);
    } elseif ($type === 'heartbeat') {
        reply(['type' => 'heartbeat_ack', 'timestamp' => $ts,
            'connectionId' => $id]);
    } else {
        $m = is_array($data) ? ($data['message'] ?? null) : null;
        reply(['type' => 'echo',
            'message' => is_string($m) && $m !== '' ? $m : $text,
            'timestamp' => $ts,
            'connections' => (int)($_SERVER['TORPOR_CONNECTIONS'] ?? 0),
            'connectionId' => $id]);
    }
}

/*
 * The object's connections from the gateway env's "connections" DB: key
 * object name, 0x00, connection id; value a JSON record (PROTOCOL.md 8.3).
 * The env is opened read-only, as PROTOCOL.md 8.2 says, for this one read
 * and closed again: FFI data does not outlive a request.
 * @return list of decoded records, or null when FFI or liblmdb cannot be
 * used here (then the caller falls back, see on_alarm()).
 */
function lmdb_connections(string $dir, string $object): ?array
{
    static $decl = <<<'C'
        typedef struct MDB_env MDB_env;
        typedef struct MDB_txn MDB_txn;
        typedef struct MDB_cursor MDB_cursor;
        typedef unsigned int MDB_dbi;
        typedef struct MDB_val { size_t mv_size; void *mv_data; } MDB_val;
        int mdb_env_create(MDB_env **env);
        int mdb_env_set_mapsize(MDB_env *env, size_t size);
        int mdb_env_set_maxdbs(MDB_env *env, MDB_dbi dbs);
        int mdb_env_set_maxreaders(MDB_env *env, unsigned int readers);
        int mdb_env_open(MDB_env *env, const char *path, unsigned int flags,
            unsigned int mode);
        void mdb_env_close(MDB_env *env);
        int mdb_txn_begin(MDB_env *env, MDB_txn *parent, unsigned int flags,
            MDB_txn **txn);
        void mdb_txn_abort(MDB_txn *txn);
        int mdb_dbi_open(MDB_txn *txn, const char *name, unsigned int flags,
            MDB_dbi *dbi);
        int mdb_cursor_open(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cursor);
        void mdb_cursor_close(MDB_cursor *cursor);
        int mdb_cursor_get(MDB_cursor *cursor, MDB_val *key, MDB_val *data,
            int op);
        char *mdb_strerror(int err);
        C;

    if (!extension_loaded('ffi')) {
        error_log('pingpong.php: the FFI extension is not loaded');
        return null;
    }
    try {
        $ffi = FFI::cdef($decl, LMDB_LIBRARY);
    } catch (Throwable $e) {
        /* ffi.enable is not "true" for this pool, or no liblmdb.so.0 */
        error_log('pingpong.php: cannot use liblmdb through FFI: ' .
            $e->getMessage());
        return null;
    }
    $fail = function (string $what, int $rc) use ($ffi): never {
        throw new HandlerError("gateway env: $what: " .
            FFI::string($ffi->mdb_strerror($rc)));
    };

    $env = $ffi->new('MDB_env *');
    if (($rc = $ffi->mdb_env_create(FFI::addr($env))) !== 0) {
        $fail('mdb_env_create', $rc);
    }
    $txn = $cur = null;
    try {
        $ffi->mdb_env_set_mapsize($env, 1 << 34);
        $ffi->mdb_env_set_maxdbs($env, 8);
        $ffi->mdb_env_set_maxreaders($env, 1022);
        if (($rc = $ffi->mdb_env_open($env, $dir, MDB_RDONLY | MDB_NOTLS,
            0600)) !== 0) {
            $fail("open $dir", $rc);
        }
        $txn = $ffi->new('MDB_txn *');
        if (($rc = $ffi->mdb_txn_begin($env, null, MDB_RDONLY,
            FFI::addr($txn))) !== 0) {
            $txn = null;
            $fail('mdb_txn_begin', $rc);
        }
        $dbi = $ffi->new('MDB_dbi');
        if (($rc = $ffi->mdb_dbi_open($txn, 'connections', 0,
            FFI::addr($dbi))) !== 0) {
            $fail('open DB connections', $rc);
        }
        $cur = $ffi->new('MDB_cursor *');
        if (($rc = $ffi->mdb_cursor_open($txn, $dbi->cdata,
            FFI::addr($cur))) !== 0) {
            $cur = null;
            $fail('mdb_cursor_open', $rc);
        }

        $prefix = $object . "\0";
        $plen = strlen($prefix);
        $buf = $ffi->new("char[$plen]");
        FFI::memcpy($buf, $prefix, $plen);
        $key = $ffi->new('MDB_val');
        $val = $ffi->new('MDB_val');
        $key->mv_size = $plen;
        $key->mv_data = FFI::addr($buf[0]);

        $out = [];
        $op = MDB_SET_RANGE;
        for (;;) {
            $rc = $ffi->mdb_cursor_get($cur, FFI::addr($key), FFI::addr($val),
                $op);
            if ($rc === MDB_NOTFOUND) {
                break;
            }
            if ($rc !== 0) {
                $fail('mdb_cursor_get', $rc);
            }
            $op = MDB_NEXT;
            $k = FFI::string($key->mv_data, $key->mv_size);
            if (strncmp($k, $prefix, $plen) !== 0) {
                break;      /* past this object's keys */
            }
            $rec = json_decode(FFI::string($val->mv_data, $val->mv_size),
                true);
            if (is_array($rec) && is_string($rec['id'] ?? null)) {
                $out[] = $rec;
            }
        }
        return $out;
    } finally {
        if ($cur !== null) {
            $ffi->mdb_cursor_close($cur);
        }
        if ($txn !== null) {
            $ffi->mdb_txn_abort($txn);
        }
        $ffi->mdb_env_close($env);
    }
}

/*
 * Closes (1000, "Connection timeout") every connection whose lastPing is
 * older than the connection timeout, and re-arms while any remains. A
 * connection without a usable lastPing falls back on the gateway's connect
 * time; without either, it is kept rather than closed on a guess.
 *
 * Fallback, when the gateway env cannot be read (no FFI for this pool, no
 * liblmdb): nobody is closed, and the alarm re-arms while the object has
 * connections (TORPOR_CONNECTIONS), so stale sockets stay open until their
 * clients go; the reason is in php-fpm's log and the gateway's.
 */
function on_alarm(int $now): void
{
    $timeout = setting('CONNECTION_TIMEOUT_MS', 60000);
    $interval = setting('ALARM_INTERVAL_MS', 60000);
    $actions = [];
    $conns = lmdb_connections($_SERVER['TORPOR_GATEWAY_STORE'] ?? '',
        $_SERVER['TORPOR_OBJECT'] ?? '');
    if ($conns === null) {
        $open = (int)($_SERVER['TORPOR_CONNECTIONS'] ?? 0);
    } else {
        $open = 0;
        foreach ($conns as $c) {
            $last = json_ms($c['connectedAt'] ?? null) ?? 0;
            $att = json_decode(is_string($c['attachment'] ?? null) ?
                $c['attachment'] : '', true);
            if (is_array($att)) {
                $last = json_ms($att['lastPing'] ?? null) ?? $last;
            }
            if ($last <= 0 || $last >= $now - $timeout) {
                $open++;
                continue;
            }
            $actions[] = ['action' => 'close', 'connection' => $c['id'],
                'code' => 1000, 'reason' => 'Connection timeout'];
        }
    }
    $actions[] = $open > 0 ?
        ['action' => 'alarm', 'in' => $interval] :
        ['action' => 'alarm', 'at' => null];
    header('Content-Type: application/vnd.torpor+json');
    echo json_encode($actions, JSON_FLAGS);
}

function main(): void
{
    $now = now_ms();
    $event = $_SERVER['TORPOR_EVENT'] ?? '';
    $id = $_SERVER['TORPOR_CONNECTION'] ?? '';
    if ($id === '' && ($event === 'connect' || $event === 'message')) {
        throw new HandlerError("$event event without TORPOR_CONNECTION");
    }
    switch ($event) {
    case 'connect':
        on_connect($id, $now);
        break;
    case 'message':
        on_message($id, $now);
        break;
    case 'alarm':
        on_alarm($now);
        break;
    default:
        /* close, error, and events of later versions: nothing to do */
        break;
    }
}

/*
 * The whole response is buffered, so that a failure half-way can still
 * turn it into a plain 500: nothing of it is applied then, the event's
 * connection gets 1011 (an alarm is retried), and the reason goes to the
 * log (php-fpm's, and the gateway's through FastCGI's stderr stream).
 */
ob_start();
try {
    main();
    ob_end_flush();
} catch (Throwable $e) {
    while (ob_get_level() > 0) {
        ob_end_clean();
    }
    header_remove();
    error_log('pingpong.php: ' . ($_SERVER['TORPOR_EVENT'] ?? '?') .
        ' event: ' . $e->getMessage());
    http_response_code(500);
}
