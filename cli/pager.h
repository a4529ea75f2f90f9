/* pager.h - page the output as journalctl does.
 *
 * When stdout is a terminal and --no-pager was not given, the output goes
 * through $PAGER (default "less"), with LESS=FRSXMK unless LESS is set:
 * quit when it fits one screen (F), keep colours (R), chop long lines
 * instead of wrapping them so the columns stay columns (S), leave the
 * screen as it was (X).  PAGER=cat or an empty PAGER turns it off.  The
 * table is formatted for the terminal underneath (its width, colours). */
#ifndef HVT_CLI_PAGER_H
#define HVT_CLI_PAGER_H

#include <stdbool.h>

/* Start the pager for stdout unless disabled or stdout is no terminal;
 * false when none runs.  Remembers the terminal first (pager_tty). */
bool pager_start(bool disabled);
/* Close our end and wait for the pager to exit (the user read it all or
 * quit).  A no-op when none runs; called at exit anyway. */
void pager_end(void);
/* Is the pager running? */
bool pager_active(void);
/* Was stdout a terminal before the pager took it, and how wide? */
bool pager_tty(int *columns);

#endif
