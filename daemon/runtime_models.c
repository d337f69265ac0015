/* runtime_models.c: the runtime's model registry (see runtime_priv.h). */
#include "daemon/runtime_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "daemon/model_map.h"
#include "models/heads/manifest.h"

/* The loaded model called name among models[0..n), or NULL. */
model_t *find_model(model_t *const *models, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(models[i]->cfg.name, name) == 0)
            return models[i];
    return NULL;
}

/* Its actor, or NULL when absent or failed to load. */
vg_inference_t *model_actor(model_t *const *models, int n, const char *name)
{
    model_t *m = name[0] ? find_model(models, n, name) : NULL;
    return m ? m->actor : NULL;
}

void model_free(model_t **pm)
{
    model_t *m = *pm;
    if (!m)
        return;
    vg_inference_free(&m->actor); /* and its detector */
    m->detector = NULL;
    free(m->path);
    free(m->labels);
    free(m);
    *pm = NULL;
}


/* Loads a model; a model that fails is kept with its error, so that the
 * cameras naming it can say why they run without it. */
static model_t *model_load(const vg_config_t *cfg, const vg_model_config_t *mc, int batch, int64_t wait_us)
{
    model_t *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cfg = *mc;
    m->path = mc->path ? strdup(mc->path) : NULL;
    m->labels = mc->labels ? strdup(mc->labels) : NULL;
    m->cfg.path = m->path;
    m->cfg.labels = m->labels;
    m->low_score = vg_model_low_score(cfg, mc->name);
    vg_detector_t *det = NULL;
    int r = vg_model_load(cfg, mc, batch, &det, m->error, sizeof(m->error));
    if (r < 0)
        return m;
    /* slots: the batch that runs and the next one filling. Deeper queues
     * only add latency (each waiting frame ages one run per frame ahead of
     * it, first in first out); a frame that finds both full goes without
     * detection (counted), and its camera's next frame is a fresher one. */
    int slots = 2 * batch;
    if ((r = vg_inference_new(det, slots, wait_us, &m->actor)) < 0) { /* det is the actor's, also on failure */
        snprintf(m->error, sizeof(m->error), "model '%s': cannot start its inference thread: %s", mc->name,
                 strerror(-r));
        return m;
    }
    m->detector = vg_inference_detector(m->actor);
    return m;
}

/* A camera's main detector (detect.model, not when: never)? */
static bool model_is_detector(const vg_config_t *cfg, const char *name)
{
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].detect_model, name) == 0 && cfg->cameras[i].detect_when != VG_DETECT_NEVER)
            return true;
    return false;
}

static bool model_in_use(const vg_config_t *cfg, const char *name)
{
    if (model_is_detector(cfg, name))
        return true;
    for (int i = 0; i < cfg->n_cameras; i++)
        if (strcmp(cfg->cameras[i].faces_model, name) == 0 || strcmp(cfg->cameras[i].faces_expression, name) == 0 ||
            strcmp(cfg->cameras[i].classify_model, name) == 0)
            return true;
    return false;
}

/* Brings rt->models in line with cfg: unchanged models are kept, changed
 * and new ones loaded (only those a camera uses), removed ones go once no
 * camera uses them (the caller restarts those cameras first). */
void load_models(vg_runtime_t *rt, const vg_config_t *cfg, model_t **ret_models, int *ret_n)
{
    int n = 0;
    for (int i = 0; i < cfg->n_models; i++) {
        const vg_model_config_t *mc = &cfg->models[i];
        if (!model_in_use(cfg, mc->name))
            continue;
        model_t *keep = NULL;
        for (int k = 0; k < rt->n_models; k++)
            if (rt->models[k] && strcmp(rt->models[k]->cfg.name, mc->name) == 0 &&
                vg_model_config_equal(&rt->models[k]->cfg, mc) && rt->models[k]->detector &&
                rt->models[k]->low_score == vg_model_low_score(cfg, mc->name)) {
                keep = rt->models[k];
                rt->models[k] = NULL; /* moved */
            }
        if (!keep) {
            /* a camera's main detector batches across cameras; the cascade's
             * models run one crop at a time */
            keep = model_load(cfg, mc, model_is_detector(cfg, mc->name) ? rt->batch : 1, rt->batch_wait_us);
            if (!keep)
                continue;
            if (keep->detector)
                vg_log(VG_LOG_INFO, "model '%s' loaded (%s)", mc->name, keep->path);
            else
                vg_log(VG_LOG_ERROR, "%s; cameras that use it run with motion only", keep->error);
        }
        ret_models[n++] = keep;
    }
    *ret_n = n;
}
