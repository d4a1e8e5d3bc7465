/*
 * main.c - the CUnit test runner: registers every suite table, runs all
 * suites (or the suite and test chosen with -s and -t), prints CUnit's
 * Run Summary and exits with the number of failed tests.
 *
 *     prex-tests                    run everything
 *     prex-tests -s conformance     run one suite
 *     prex-tests -s parser -t errors_positions
 *     prex-tests -t TEST            run TEST in every suite that has one
 *     prex-tests -v                 verbose: list each test as it runs
 *     prex-tests -l                 list the suites and their tests
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "testlib.h"

/* Every module's suite table, one line each; NULL ends the list. */
static CU_SuiteInfo *const suite_tables[] = {
    prex_parser_suites,
    prex_conformance_suites,
    prex_split_suites,
    prex_corpus_suites,
    prex_write_suites,
    prex_merge_suites,
    prex_lexer_suites,
    prex_relabel_suites,
    prex_push_suites,
    NULL,
};

/* Prints the registered suites and tests, one per line. */
static void list_tests(void)
{
    CU_pSuite s;
    CU_pTest t;

    for (s = CU_get_registry()->pSuite; s; s = s->pNext) {
        printf("%s\n", s->pName);
        for (t = s->pTest; t; t = t->pNext)
            printf("  %s\n", t->pName);
    }
}

static void usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [-v] [-l] [-s SUITE] [-t TEST]\n", argv0);
}

/*
 * Runs the selection: all tests, one suite, one test of one suite, or
 * test_name in every suite that has it. Returns the number of failures
 * to add to the exit status for a selection that matched nothing (1),
 * else 0; test failures are counted by the caller from CUnit.
 */
static int run_selection(const char *suite_name, const char *test_name,
                         unsigned *failed)
{
    CU_pSuite s;
    CU_pTest t;
    int found = 0;

    *failed = 0;
    if (!suite_name && !test_name) {
        CU_basic_run_tests();
        *failed = CU_get_number_of_tests_failed() +
                  CU_get_number_of_suites_failed();
        return 0;
    }
    for (s = CU_get_registry()->pSuite; s; s = s->pNext) {
        if (suite_name && strcmp(s->pName, suite_name) != 0)
            continue;
        if (!test_name) {
            found = 1;
            CU_basic_run_suite(s);
            *failed += CU_get_number_of_tests_failed() +
                       CU_get_number_of_suites_failed();
            continue;
        }
        for (t = s->pTest; t; t = t->pNext) {
            if (strcmp(t->pName, test_name) != 0)
                continue;
            found = 1;
            CU_basic_run_test(s, t);
            *failed += CU_get_number_of_tests_failed() +
                       CU_get_number_of_suites_failed();
        }
    }
    if (!found) {
        fprintf(stderr, "no %s%s%s%s%s matches; use -l to list them\n",
                suite_name ? "suite " : "", suite_name ? suite_name : "",
                suite_name && test_name ? " with " : "",
                test_name ? "test " : "", test_name ? test_name : "");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *suite_name = NULL, *test_name = NULL;
    CU_BasicRunMode mode = CU_BRM_NORMAL;
    int list = 0, c, bad;
    size_t i;
    unsigned failed = 0;
    CU_ErrorCode err;

    while ((c = getopt(argc, argv, "s:t:vlh")) != -1) {
        switch (c) {
        case 's': suite_name = optarg; break;
        case 't': test_name = optarg; break;
        case 'v': mode = CU_BRM_VERBOSE; break;
        case 'l': list = 1; break;
        case 'h': usage(stdout, argv[0]); return 0;
        default: usage(stderr, argv[0]); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr, argv[0]);
        return 2;
    }

    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 1;
    }
    for (i = 0; suite_tables[i]; i++) {
        if (CU_register_suites(suite_tables[i]) != CUE_SUCCESS) {
            fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
            CU_cleanup_registry();
            return 1;
        }
    }
    if (list) {
        list_tests();
        CU_cleanup_registry();
        return 0;
    }

    CU_basic_set_mode(mode);
    CU_set_error_action(CUEA_IGNORE);
    bad = run_selection(suite_name, test_name, &failed);
    err = CU_get_error();
    if (err != CUE_SUCCESS)
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
    CU_cleanup_registry();

    failed += (unsigned)bad + (err != CUE_SUCCESS);
    /* An exit status is 8 bits: 256 failures must not read as success. */
    return failed > 255 ? 255 : (int)failed;
}
