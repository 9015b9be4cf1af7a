from jqm_node.cli import main

raise SystemExit(main())
