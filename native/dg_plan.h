/* The encoder plan (dg_plan_encode in dg_codec.h): source window, checksum step and target window
 * from the sizes, the probe's reach and the memory budget. Internal declarations the encoder shares. */
#ifndef DG_PLAN_H
#define DG_PLAN_H

#include "config.h"
#include "xdelta3.h"
#include "dg_codec.h"

/* Sources up to this size always get a whole-source window: the probe would cost more than the few
 * bytes a sliding window could save. */
#define DG_PROBE_MIN_SOURCE ((uint64_t)1 << 20)

/* The string matcher of each level as xdelta3-cfgs.h compiles it (the same as the command line),
 * kept here so that the soft matcher can run a level with a coarser source step. */
typedef struct {
    int cfg;
    usize_t large_look, large_step, small_look, small_chain, small_lchain, max_lazy, long_enough;
} dg_matcher;

const dg_matcher *dg_matcher_for_level(int level);

/* Whether a sample of the target looks already compressed (deflated members, xz blocks): 1 or 0. */
int dg_target_compressed(const uint8_t *target, uint64_t target_len);

/* The reach a sliding window covers at least for a target that is not already compressed: machine
 * code finds long copies of its functions and tables far from where they were, which a window sized
 * only by how far content moved would miss (a compiled module's delta comes out 1.6% larger);
 * compressed content, where distant copies are chance matches that displace better-placed ones, keeps
 * the probe's window. This reach gives an 8 MiB window. */
#define DG_UNCOMPRESSED_MIN_REACH ((uint64_t)3200 << 10)

#endif /* DG_PLAN_H */
