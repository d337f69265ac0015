/* jsonw: the fixed-buffer JSON writer, checked by parsing with jansson. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "pipeline/jsonw.h"

Test(jsonw, writes_nested_json_that_parses)
{
    char buf[512];
    vg_jsonw_t w;
    vg_jsonw_init(&w, buf, sizeof(buf));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "s");
    vg_jsonw_string(&w, "quote\" back\\ nl\n tab\t ctl\x01");
    vg_jsonw_key(&w, "i");
    vg_jsonw_int(&w, -42);
    vg_jsonw_key(&w, "d");
    vg_jsonw_double(&w, 0.125, 3);
    vg_jsonw_key(&w, "nan");
    vg_jsonw_double(&w, NAN, 3);
    vg_jsonw_key(&w, "a");
    vg_jsonw_array_begin(&w);
    vg_jsonw_int(&w, 1);
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "b");
    vg_jsonw_bool(&w, true);
    vg_jsonw_object_end(&w);
    vg_jsonw_null(&w);
    vg_jsonw_array_end(&w);
    vg_jsonw_key(&w, "t");
    vg_jsonw_time(&w, 1764062473042123LL);
    vg_jsonw_object_end(&w);
    int len = vg_jsonw_finish(&w);
    cr_assert_gt(len, 0);
    json_error_t e;
    json_t *root = json_loadb(buf, (size_t)len, 0, &e);
    cr_assert_not_null(root, "not JSON (%s): %s", e.text, buf);
    cr_assert_str_eq(json_string_value(json_object_get(root, "s")), "quote\" back\\ nl\n tab\t ctl\x01");
    cr_assert_eq(json_integer_value(json_object_get(root, "i")), -42);
    cr_assert_float_eq(json_real_value(json_object_get(root, "d")), 0.125, 1e-9);
    cr_assert(json_is_null(json_object_get(root, "nan")));
    json_t *a = json_object_get(root, "a");
    cr_assert_eq(json_array_size(a), 3);
    cr_assert(json_is_true(json_object_get(json_array_get(a, 1), "b")));
    cr_assert_str_eq(json_string_value(json_object_get(root, "t")), "2025-11-25T09:21:13.042Z");
    json_decref(root);
}

Test(jsonw, overflow_is_reported_not_truncated_silently)
{
    char buf[16];
    vg_jsonw_t w;
    vg_jsonw_init(&w, buf, sizeof(buf));
    vg_jsonw_object_begin(&w);
    vg_jsonw_key(&w, "long");
    vg_jsonw_string(&w, "this does not fit in sixteen bytes");
    vg_jsonw_object_end(&w);
    cr_assert_eq(vg_jsonw_finish(&w), -ENOBUFS);
    cr_assert_lt(strlen(buf), sizeof(buf));
}

Test(jsonw, unbalanced_is_an_error)
{
    char buf[64];
    vg_jsonw_t w;
    vg_jsonw_init(&w, buf, sizeof(buf));
    vg_jsonw_object_begin(&w);
    cr_assert_eq(vg_jsonw_finish(&w), -ENOBUFS);
}
