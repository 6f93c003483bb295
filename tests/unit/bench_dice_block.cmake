# A proposal for the AVX-512 Dice kernel (eight filters per step, one joint
# reduction) against dice.c's kernel, measured on one core.  Built with the
# tests, never run by ctest.  Run: bench_dice_block [seconds per figure].
add_executable(bench_dice_block ${PROJECT_SOURCE_DIR}/tests/bench/bench_dice_block.c)
