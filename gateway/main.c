/*
 * torpor-gateway: parse the command line, then hand over to the gateway.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "control.h"
#include "gateway.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct config	cfg;
	int		rc;

	rc = config_parse(&cfg, argc, argv);
	if (rc != 0) {
		config_free(&cfg);
		return rc > 0 ? 0 : 2;
	}
	log_set_level(cfg.log_level);
	log_set_format(cfg.log_format);
	if (cfg.reload)
		rc = control_reload(cfg.run_dir, cfg.reload_timeout_ms + 5000);
	else
		rc = gateway_run(&cfg);
	config_free(&cfg);
	return rc;
}
