-- The command of the Java version's get script: one GET, inside a script.
-- (The harness reads through this file only when --scripts-dir has it.)
return redis.call('GET', KEYS[1])
