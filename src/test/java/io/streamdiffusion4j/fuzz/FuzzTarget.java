package io.streamdiffusion4j.fuzz;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One parser or decoder under fuzzing: the valid inputs mutation starts from, how inputs are
 * mutated, the code run on each input, and the exception types its contract allows to escape
 * (anything else escaping, an input running past the time limit or allocating past the memory
 * limit, is a failure).
 *
 * @param name       short name; regression inputs live in {@code src/test/resources/fuzz/NAME/}
 * @param seeds      valid (and known-interesting) inputs; called once per run
 * @param mutator    how new inputs are made from the corpus
 * @param check      the code under test, run once per input
 * @param documented exception types the code may throw for bad input (each must carry a message)
 * @param forked     true for native code that can take the JVM down: the run goes to a child JVM
 * @param ciInputs   how many mutated inputs the bounded run in the test suite tries (a few seconds)
 */
public record FuzzTarget(String name, Supplier<List<byte[]>> seeds, Mutator mutator, Check check,
                         Set<Class<? extends Throwable>> documented, boolean forked, int ciInputs) {

    /** The code under test for one input. */
    @FunctionalInterface
    public interface Check {
        void run(byte[] input) throws Exception;
    }

    public boolean allows(Throwable t) {
        for (Class<? extends Throwable> c : documented) if (c.isInstance(t)) return true;
        return false;
    }
}
