/*
 * yamlscan: the floor wf-parse is measured against in tests/bench/10-parse.sh.
 * It reads FILE and only scans its libyaml events (yaml_parser_parse until
 * the end of the stream, deleting each event), building nothing.
 *   yamlscan FILE   exit 0 after the stream's end, 1 on a YAML error, 2 on usage or I/O
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

int
main(int argc, char **argv)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	FILE *fp;
	int done = 0, events = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: yamlscan FILE\n");
		return 2;
	}
	if (!(fp = fopen(argv[1], "rb"))) {
		perror(argv[1]);
		return 2;
	}
	if (!yaml_parser_initialize(&parser)) {
		fprintf(stderr, "yamlscan: cannot start the YAML parser\n");
		return 2;
	}
	yaml_parser_set_input_file(&parser, fp);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "yamlscan: %s:%zu:%zu: %s\n", argv[1], parser.problem_mark.line + 1,
				parser.problem_mark.column + 1, parser.problem ? parser.problem : "syntax error");
			yaml_parser_delete(&parser);
			fclose(fp);
			return 1;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		events++;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	fclose(fp);
	printf("%d events\n", events);
	return 0;
}
