;; Dense matrix-vector product for the thermal twin's coupling step (out = A · v).
;; Rows of A are `stride` doubles apart; stride is a multiple of 4 and the padding
;; (in A and v) is zero, so the inner loop needs no tail. Two f64x2 accumulators per row.
;; Built by scripts/build-wasm.mjs into src/physics/matvec-wasm.generated.ts.
(module
  (memory (export "memory") 1)
  (func (export "matvec")
    (param $rows i32) (param $stride i32) (param $matrix i32) (param $vector i32) (param $out i32)
    (local $i i32) (local $j i32) (local $row i32) (local $rowBytes i32)
    (local $acc0 v128) (local $acc1 v128)
    (local.set $row (local.get $matrix))
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 3)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $acc0 (v128.const f64x2 0 0))
        (local.set $acc1 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (loop $colLoop
          (local.set $acc0
            (f64x2.add (local.get $acc0)
              (f64x2.mul
                (v128.load (i32.add (local.get $row) (local.get $j)))
                (v128.load (i32.add (local.get $vector) (local.get $j))))))
          (local.set $acc1
            (f64x2.add (local.get $acc1)
              (f64x2.mul
                (v128.load offset=16 (i32.add (local.get $row) (local.get $j)))
                (v128.load offset=16 (i32.add (local.get $vector) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 32)))
          (br_if $colLoop (i32.lt_u (local.get $j) (local.get $rowBytes))))
        (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
        (f64.store
          (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))
          (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
        (local.set $row (i32.add (local.get $row) (local.get $rowBytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rowLoop)))))
