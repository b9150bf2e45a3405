;; The WASM Scientist: finds primes by trial division in consecutive ranges and reports each
;; range's primes to Maxwell with `maxwell.work` (docs/RUNTIMES.md, "WASM agents").
;;
;; Compiled by `npm run build` (scripts/build-wasm.mjs --agents) to
;; dist/src/agents/wasm/scientist.wasm (`WASM_SCIENTIST_PATH` in wasm-agents.ts).
;;
;; Arguments (spec.args, read with env.arg_f64; absent or not a number: the default):
;;   0  price to bid per quantum, J: bid once at start when given (≥ 0); otherwise keep
;;      whatever bid the operator placed when spawning it
;;   1  first number to search (default 2; at most 2^53, the largest exact f64 integer)
;;
;; A range [lo, hi) grows candidate by candidate until SEND_INTERVAL_MS have passed since the
;; last report, or the buffer holds BATCH_CAP primes; a full buffer waits out the interval
;; (env.block) so that it never sends more than 1000 / SEND_INTERVAL_MS = 50 frames/s, a
;; quarter of the daemon's default rate. The ranges tile the numbers from the start: each
;; report's hi is the next one's lo.
;;
;; Each report's status (0 sent, negative: see WASM_STATUS) is passed to env.report whenever
;; it changes, so the host sees -1 once when run without Maxwell, or -5 once when the
;; daemon closed the connection. It keeps searching either way; it returns (exit code 0) only
;; when Maxwell sends it an apoptosis notice (maxwell.apoptosis_ms is then a number): it cannot
;; pay, so it ends itself within the grace period instead of waiting to be stopped.
(module
  (import "env" "elapsed_ms" (func $elapsed_ms (result f64)))
  (import "env" "block" (func $block (param f64)))
  (import "env" "report" (func $report (param i32)))
  (import "env" "arg_f64" (func $arg_f64 (param i32) (result f64)))
  (import "maxwell" "bid" (func $bid (param f64) (result i32)))
  (import "maxwell" "work" (func $work (param i64 i64 i32 i32) (result i32)))
  (import "maxwell" "apoptosis_ms" (func $apoptosis_ms (result f64)))
  ;; Primes of the current range, u64 little-endian from address 0 (16 KiB of one page).
  (memory (export "memory") 1)
  (global $SEND_INTERVAL_MS f64 (f64.const 20))
  (global $BATCH_CAP i32 (i32.const 2048))
  ;; The last status reported (1: none yet).
  (global $last_status (mut i32) (i32.const 1))

  (func $note_status (param $status i32)
    (if (i32.ne (local.get $status) (global.get $last_status))
      (then
        (global.set $last_status (local.get $status))
        (call $report (local.get $status)))))

  ;; Trial division by 2 and the odd numbers up to √n (n < 2^64, unsigned).
  (func $is_prime (param $n i64) (result i32)
    (local $d i64)
    (if (i64.lt_u (local.get $n) (i64.const 4))
      (then (return (i64.ge_u (local.get $n) (i64.const 2)))))
    (if (i64.eqz (i64.and (local.get $n) (i64.const 1)))
      (then (return (i32.const 0))))
    (local.set $d (i64.const 3))
    (block $prime
      (loop $try
        ;; d > 2^32 - 1 means d² > any u64; else d² does not overflow.
        (br_if $prime (i64.gt_u (local.get $d) (i64.const 0xffffffff)))
        (br_if $prime (i64.gt_u (i64.mul (local.get $d) (local.get $d)) (local.get $n)))
        (if (i64.eqz (i64.rem_u (local.get $n) (local.get $d)))
          (then (return (i32.const 0))))
        (local.set $d (i64.add (local.get $d) (i64.const 2)))
        (br $try)))
    (i32.const 1))

  (func (export "run") (result i32)
    (local $price f64) (local $start f64)
    (local $lo i64) (local $n i64) (local $count i32) (local $since f64) (local $wait f64)
    (local.set $price (call $arg_f64 (i32.const 0)))
    ;; NaN (no argument) fails the comparison.
    (if (f64.ge (local.get $price) (f64.const 0))
      (then (call $note_status (call $bid (local.get $price)))))
    (local.set $start (call $arg_f64 (i32.const 1)))
    (local.set $lo (i64.const 2))
    (if (i32.and (f64.ge (local.get $start) (f64.const 2)) (f64.le (local.get $start) (f64.const 9007199254740992)))
      (then (local.set $lo (i64.trunc_f64_u (f64.floor (local.get $start))))))
    (local.set $n (local.get $lo))
    (local.set $since (call $elapsed_ms))
    (loop $search
      (if (call $is_prime (local.get $n))
        (then
          (i64.store (i32.shl (local.get $count) (i32.const 3)) (local.get $n))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))))
      (local.set $n (i64.add (local.get $n) (i64.const 1)))
      ;; Look at the clock every 64 candidates, and whenever the buffer is full.
      (if (i32.or
            (i32.eq (local.get $count) (global.get $BATCH_CAP))
            (i64.eqz (i64.and (local.get $n) (i64.const 63))))
        (then
          (local.set $wait (f64.sub (global.get $SEND_INTERVAL_MS) (f64.sub (call $elapsed_ms) (local.get $since))))
          (if (i32.or (i32.eq (local.get $count) (global.get $BATCH_CAP)) (f64.le (local.get $wait) (f64.const 0)))
            (then
              (if (f64.gt (local.get $wait) (f64.const 0)) (then (call $block (local.get $wait))))
              (call $note_status (call $work (local.get $lo) (local.get $n) (i32.const 0) (local.get $count)))
              (local.set $lo (local.get $n))
              (local.set $count (i32.const 0))
              (local.set $since (call $elapsed_ms))
              ;; An apoptosis notice (a number, not NaN): end gracefully.
              (local.set $wait (call $apoptosis_ms))
              (if (f64.eq (local.get $wait) (local.get $wait)) (then (return (i32.const 0))))))))
      (br $search))
    (i32.const 0)))
