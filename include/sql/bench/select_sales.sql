-- What the benchmark renders: the first :limit sale lines in id order.
SELECT sale_id, sale_date, region, country, product, units, unit_price, revenue
FROM bench_sales
WHERE sale_id <= :limit
ORDER BY sale_id
