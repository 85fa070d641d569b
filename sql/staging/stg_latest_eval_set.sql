-- Staging (no parameters): the eval set of the eval.pass_at_k rows whose evaluate run finished last (ops.runs);
-- rows without a recorded run sort last, ties by run_id. One row, or none before the first evaluate.
select p.eval_set_id
from eval.pass_at_k as p
left join ops.runs as r on r.run_id = p.run_id
order by r.finished_at desc nulls last, p.run_id desc, p.eval_set_id desc
limit 1
