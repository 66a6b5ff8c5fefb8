/* SPDX-License-Identifier: MIT */
/*
 * Leveled log. Library code logs what it does (at INFO/DEBUG) but never
 * prints results or errors itself: those go back to the caller. The CLI
 * sets the level (-v, -q) and may replace the sink.
 */
#ifndef TP_LOG_H
#define TP_LOG_H

enum tp_log_level { TP_LOG_ERR, TP_LOG_WARN, TP_LOG_INFO, TP_LOG_DEBUG };

typedef void (*tp_log_sink)(enum tp_log_level level, const char *msg, void *cookie);

void tp_log_set_level(enum tp_log_level level);
enum tp_log_level tp_log_get_level(void);
void tp_log_set_sink(tp_log_sink sink, void *cookie);
/*
 * The syslog sink (docs/commission.md §12): messages go as RFC 3164
 * datagrams, facility daemon, tagged ident[pid], to /dev/log under the
 * root (common/path.h, so a test's fake root can bind it and read them).
 * No syslogd listening: messages are dropped, never an error, since an
 * unattended run must not stop for want of a log. Replaces the current
 * sink; tp_log_syslog_close() goes back to stderr.
 */
void tp_log_syslog_open(const char *ident);
void tp_log_syslog_close(void);

void tp_log(enum tp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define TP_ERR(...) tp_log(TP_LOG_ERR, __VA_ARGS__)
#define TP_WARN(...) tp_log(TP_LOG_WARN, __VA_ARGS__)
#define TP_INFO(...) tp_log(TP_LOG_INFO, __VA_ARGS__)
#define TP_DBG(...) tp_log(TP_LOG_DEBUG, __VA_ARGS__)

#endif
