# Console area: the web console (node/jqm_node/console) is tested in a real headless browser, Debian's
# chromium driven by Playwright (tests/console); Playwright never downloads a browser of its own here.

CONSOLE_CHROMIUM := /usr/bin/chromium

.PHONY: console-browser

console-browser: ## install Debian's chromium for the web console's browser tests (tests/console)
	@test -x $(CONSOLE_CHROMIUM) || (apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core)

integration: console-browser
