package io.streamdiffusion4j.onnx;

import io.streamdiffusion4j.model.ControlNetNames;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import io.streamdiffusion4j.model.ControlResiduals;
import io.streamdiffusion4j.model.Unet;
import io.streamdiffusion4j.onnx.proto.Onnx.TensorShapeProto;
import io.streamdiffusion4j.onnx.proto.Onnx.TypeProto;
import io.streamdiffusion4j.tensor.FloatTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The UNet on ONNX Runtime. Accepts Optimum's names ({@code sample, timestep,
 * encoder_hidden_states -> out_sample}) and StreamDiffusion's TensorRT export's
 * ({@code ... -> latent}); float32 or float16 latents, int64/int32/float timesteps, one per row.
 *
 * <p>Loaded with pre-computation (the default), the graph is split by {@link UnetConditioningSplit}
 * into a conditioning session, run by {@link #prepare} once per prompt and timesteps (the
 * cross-attention keys and values, the time embeddings), and a main session that takes its
 * results per frame. The prepared tensors are bound to the main session as they are, so a
 * frame copies nothing for them. Without it, one session takes the embeddings on every call.
 *
 * <p>Inputs go through reused direct buffers and the output is pinned (see {@link PinnedRun}), so
 * {@link #predictNoiseInto} allocates nothing per call once the shapes are steady. Calls are
 * synchronized: streams sharing the model take turns on its buffers (closing waits for a call
 * in flight).
 */
public final class OrtUnet implements Unet {
    private static final Set<OnnxJavaType> FLOATS = Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    private static final Set<OnnxJavaType> TIMESTEPS =
            Set.of(OnnxJavaType.INT64, OnnxJavaType.INT32, OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16);
    private static final Set<OnnxJavaType> FRONTIER =
            Set.of(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.INT64, OnnxJavaType.INT32);
    private static final String SAMPLE = "sample";
    private static final String TIMESTEP = "timestep";
    private static final String HIDDEN_STATES = "encoder_hidden_states";

    private final OnnxSession session;
    private final Port sample;
    private final Port timestep;
    private final Port hiddenStates;
    private final Port output;
    /** ControlNet residual inputs ({@link ControlNetNames}), after the other inputs of {@link #run}; empty for a plain UNet. */
    private final Port[] residuals;
    private final int channels;
    private final int crossAttentionDim;
    private final PinnedRun run;
    /** The conditioning half of a split graph, or null when one session takes the embeddings. */
    private final Precompute precompute;
    // False for a view made by withOwnBuffers: the sessions belong to the UNet it was made from.
    private final boolean ownsSession;
    // Shapes of the last call, kept to avoid building shape arrays on every call.
    private final long[] sampleShape = new long[4];
    private final long[] timestepShape = new long[1];
    private final long[] hiddenShape = new long[3];

    /**
     * The conditioning session of a split graph: it takes the timesteps, the embeddings and (for
     * its shape only) the sample, and gives the main session's frontier inputs.
     */
    private record Precompute(OnnxSession session, PinnedRun run, Port timestep, Port hiddenStates, int sampleInput,
                              int frontier) {
        Precompute sibling() {
            return new Precompute(session, run.sibling(), timestep, hiddenStates, sampleInput, frontier);
        }
    }

    /** One session that takes the embeddings on every call. */
    OrtUnet(OnnxSession session, ComponentConfig config) throws InvalidModelException {
        this.session = session;
        try {
            sample = session.input("noisy latents", List.of(SAMPLE), FLOATS, 4);
            timestep = session.input("one timestep per batch row", List.of(TIMESTEP), TIMESTEPS, 1);
            hiddenStates = session.input("prompt embeddings", List.of(HIDDEN_STATES), FLOATS, 3);
            output = session.output("predicted noise", List.of("out_sample", "latent"), FLOATS, 4);
            channels = dimension(sample, 1, config, "in_channels");
            crossAttentionDim = dimension(hiddenStates, 2, config, "cross_attention_dim");
            residuals = residualPorts(session);
        } catch (InvalidModelException e) {
            session.close();
            throw e;
        }
        run = new PinnedRun(session, concat(new Port[] {sample, timestep, hiddenStates}, residuals), new Port[] {output});
        precompute = null;
        ownsSession = true;
    }

    /** A split graph: {@code main} takes the sample and the frontier, {@code conditioning} makes the frontier. */
    private OrtUnet(OnnxSession main, OnnxSession conditioning, UnetConditioningSplit split, ComponentConfig config)
            throws InvalidModelException {
        this.session = main;
        sample = main.input("noisy latents", List.of(SAMPLE), FLOATS, 4);
        output = main.output("predicted noise", List.of("out_sample", "latent"), FLOATS, 4);
        timestep = conditioning.input("one timestep per batch row", List.of(TIMESTEP), TIMESTEPS, 1);
        hiddenStates = conditioning.input("prompt embeddings", List.of(HIDDEN_STATES), FLOATS, 3);
        channels = dimension(sample, 1, config, "in_channels");
        crossAttentionDim = dimension(hiddenStates, 2, config, "cross_attention_dim");
        List<String> frontier = split.frontier();
        residuals = residualPorts(main);
        Port[] mainInputs = new Port[1 + frontier.size() + residuals.length];
        Port[] condOutputs = new Port[frontier.size()];
        mainInputs[0] = sample;
        for (int i = 0; i < frontier.size(); i++) {
            String f = frontier.get(i);
            mainInputs[1 + i] = main.input("pre-computed conditioning", List.of(f), FRONTIER, -1);
            condOutputs[i] = conditioning.output("pre-computed conditioning", List.of(f), FRONTIER, -1);
        }
        System.arraycopy(residuals, 0, mainInputs, 1 + frontier.size(), residuals.length);
        boolean readsSample = split.conditioningInputs().contains(SAMPLE);
        Port[] condInputs = readsSample
                ? new Port[] {timestep, hiddenStates, conditioning.input("the sample's shape", List.of(SAMPLE), FLOATS, 4)}
                : new Port[] {timestep, hiddenStates};
        run = new PinnedRun(main, mainInputs, new Port[] {output});
        precompute = new Precompute(conditioning, new PinnedRun(conditioning, condInputs, condOutputs), timestep,
                hiddenStates, readsSample ? 2 : -1, frontier.size());
        ownsSession = true;
    }

    private OrtUnet(OrtUnet source) {
        session = source.session;
        sample = source.sample;
        timestep = source.timestep;
        hiddenStates = source.hiddenStates;
        output = source.output;
        residuals = source.residuals;
        channels = source.channels;
        crossAttentionDim = source.crossAttentionDim;
        run = source.run.sibling();
        precompute = source.precompute == null ? null : source.precompute.sibling();
        ownsSession = false;
    }

    /**
     * Opens the UNet at {@code file}: split for pre-computation when {@code precompute} is on and
     * the graph has anything to pre-compute, else as one session. A graph that cannot be split
     * (or whose halves ONNX Runtime rejects) is opened whole, with a notice saying why.
     */
    static OrtUnet open(SessionFactory sessions, Path file, ComponentConfig config, StaticShapes shapes, boolean precompute,
                        java.util.function.Consumer<String> notices) throws IOException {
        Map<String, long[]> wanted = shapes == null ? Map.of() : staticInputs(shapes, config);
        if (Files.isRegularFile(file) && SdxlUnetInputs.applies(GraphInputs.read(file))) {
            return openSdxl(sessions, file, config, SdxlUnetInputs.staticInputs(wanted), precompute, notices);
        }
        if (precompute) {
            Optional<OrtUnet> split;
            try {
                split = openSplit(sessions, file, config, wanted);
            } catch (InvalidModelException e) {
                notices.accept("cannot pre-compute the conditioning of " + file + " (" + e.getMessage()
                        + "); running the whole graph per frame");
                split = Optional.empty();
            }
            if (split.isPresent()) return split.get();
        }
        return new OrtUnet(sessions.open(file, wanted), config);
    }

    /**
     * An SDXL UNet: its graph rewritten by {@link SdxlUnetInputs} to take the packed prompt
     * embedding (pooled embedding as the last row, time ids from the sample's size), then opened
     * like any other, split or whole.
     */
    private static OrtUnet openSdxl(SessionFactory sessions, Path file, ComponentConfig config, Map<String, long[]> wanted,
                                    boolean precompute, java.util.function.Consumer<String> notices) throws IOException {
        byte[] bytes = SdxlUnetInputs.rewrite(readModel(file), file);
        String variant = "unet-sdxl-" + SdxlUnetInputs.VERSION + "-";
        if (precompute) {
            try {
                Optional<OrtUnet> split = openSplit(sessions, bytes, file, variant, config, wanted);
                if (split.isPresent()) return split.get();
            } catch (InvalidModelException e) {
                notices.accept("cannot pre-compute the conditioning of " + file + " (" + e.getMessage()
                        + "); running the whole graph per frame");
            }
        }
        return new OrtUnet(sessions.open(bytes, file, variant + "whole", wanted), config);
    }

    private static byte[] readModel(Path file) throws InvalidModelException {
        try {
            return Files.readAllBytes(file);
        } catch (IOException | OutOfMemoryError e) {
            throw new InvalidModelException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static Optional<OrtUnet> openSplit(SessionFactory sessions, Path file, ComponentConfig config,
                                               Map<String, long[]> wanted) throws IOException {
        if (!Files.isRegularFile(file)) return Optional.empty(); // the whole-graph path reports it
        GraphInputs inputs = GraphInputs.read(file);
        if (!inputs.inputs().keySet().containsAll(List.of(SAMPLE, TIMESTEP, HIDDEN_STATES))) return Optional.empty();
        return openSplit(sessions, readModel(file), file, "", config, wanted);
    }

    private static Optional<OrtUnet> openSplit(SessionFactory sessions, byte[] bytes, Path file, String variant,
                                               ComponentConfig config, Map<String, long[]> wanted) throws IOException {
        Optional<UnetConditioningSplit> plan = UnetConditioningSplit.plan(bytes, file, SAMPLE, TIMESTEP, HIDDEN_STATES);
        bytes = null;
        if (plan.isEmpty()) return Optional.empty();
        UnetConditioningSplit split = plan.get();
        OnnxSession conditioning = sessions.open(split.conditioningGraph(), file,
                variant + "unet-conditioning-" + UnetConditioningSplit.VERSION, wanted);
        OnnxSession main = null;
        try {
            Map<String, TypeProto> types = new HashMap<>();
            Map<String, NodeInfo> produced = conditioning.outputInfo();
            for (String f : split.frontier()) {
                NodeInfo info = produced.get(f);
                if (info == null || !(info.getInfo() instanceof TensorInfo ti)) {
                    throw new InvalidModelException(file + ": the conditioning graph gives no tensor '" + f + "'");
                }
                types.put(f, typeOf(ti));
            }
            Map<String, long[]> mainWanted = new LinkedHashMap<>(wanted);
            main = sessions.open(split.mainGraph(types), file, variant + "unet-main-" + UnetConditioningSplit.VERSION, mainWanted);
            return Optional.of(new OrtUnet(main, conditioning, split, config));
        } catch (IOException | RuntimeException e) {
            if (main != null) main.close();
            conditioning.close();
            throw e;
        }
    }

    /** The ONNX type of a value as ONNX Runtime inferred it (symbolic dimensions by name, unknown ones left open). */
    private static TypeProto typeOf(TensorInfo ti) throws InvalidModelException {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        long[] dims = ti.getShape();
        String[] names = ti.getDimensionNames();
        for (int i = 0; i < dims.length; i++) {
            TensorShapeProto.Dimension.Builder d = TensorShapeProto.Dimension.newBuilder();
            if (dims[i] > 0) d.setDimValue(dims[i]);
            else if (names != null && i < names.length && names[i] != null && !names[i].isEmpty()) d.setDimParam(names[i]);
            shape.addDim(d);
        }
        return TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(onnxElementType(ti.type))
                .setShape(shape)).build();
    }

    /** ONNX's TensorProto.DataType number of an element type the frontier can carry. */
    private static int onnxElementType(OnnxJavaType t) throws InvalidModelException {
        return switch (t) {
            case FLOAT -> 1;
            case INT32 -> 6;
            case INT64 -> 7;
            case FLOAT16 -> 10;
            default -> throw new InvalidModelException("a pre-computed value of element type " + t + " is not supported");
        };
    }

    /**
     * The same sessions with input and output buffers of their own. Streams with different batch
     * shapes that take turns on one session (the benchmark's alternated configurations) would
     * otherwise replace each other's buffers and unpin the outputs on every switch, a cost that
     * falls on whichever runs after a switch. Closing the view frees only its buffers; it must
     * be closed before this UNet.
     */
    public OrtUnet withOwnBuffers() {
        return new OrtUnet(this);
    }

    /** The ControlNet residual inputs of a UNet graph made with them, in {@link ControlNetNames}' order. */
    private static Port[] residualPorts(OnnxSession session) throws InvalidModelException {
        List<String> names = OrtControlNet.residualNames(session.inputInfo().keySet(), session.file().toString());
        Port[] ports = new Port[names.size()];
        for (int i = 0; i < ports.length; i++) {
            ports[i] = session.input("ControlNet residual", List.of(names.get(i)), Set.of(OnnxJavaType.FLOAT), 4);
        }
        return ports;
    }

    private static Port[] concat(Port[] a, Port[] b) {
        Port[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Override
    public boolean acceptsResiduals() {
        return residuals.length > 0;
    }

    /** Residual inputs of this graph (down blocks and the middle block); 0 for a plain UNet. */
    public int residualInputs() {
        return residuals.length;
    }

    /** Whether this UNet pre-computes the conditioning (a split graph). */
    public boolean precomputes() {
        return precompute != null;
    }

    /** The values the conditioning session pre-computes per prompt (0 without pre-computation). */
    public int precomputedValues() {
        return precompute == null ? 0 : precompute.frontier();
    }

    /**
     * The input sizes a stream with {@code shapes} feeds. Channel counts come from the UNet's
     * config.json when the graph leaves them symbolic (-1 when neither says: left dynamic).
     */
    static Map<String, long[]> staticInputs(StaticShapes shapes, ComponentConfig config) throws InvalidModelException {
        long rows = shapes.unetRows();
        return Map.of(
                SAMPLE, new long[] {rows, config.intValue("in_channels"), shapes.latentHeight(), shapes.latentWidth()},
                TIMESTEP, new long[] {rows},
                HIDDEN_STATES, new long[] {rows, StaticShapes.TEXT_SEQUENCE, config.intValue("cross_attention_dim")});
    }

    private int dimension(Port port, int axis, ComponentConfig config, String key) throws InvalidModelException {
        long fixed = port.fixedDim(axis);
        int configured = config.intValue(key);
        if (fixed > 0 && configured > 0 && fixed != configured) {
            throw new InvalidModelException(session.file() + ": input '" + port.name() + "' has " + fixed + " at axis " + axis
                    + " but " + config.file() + " says " + key + " = " + configured);
        }
        if (fixed > 0) return (int) fixed;
        if (configured > 0) return configured;
        throw new InvalidModelException(session.file() + ": the size of axis " + axis + " of '" + port.name()
                + "' is dynamic and " + config.file() + " has no '" + key + "'");
    }

    @Override
    public synchronized FloatTensor predictNoise(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates) {
        float[] eps = new float[x.size()];
        predictNoiseInto(x, timesteps, encoderHiddenStates, eps);
        return new FloatTensor(eps, x.shape());
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates, float[] eps) {
        if (timesteps.length != x.rows() || encoderHiddenStates.rows() != x.rows()) {
            throw new IllegalArgumentException("UNet batch mismatch: " + x.rows() + " sample rows, " + timesteps.length
                    + " timesteps, " + encoderHiddenStates.rows() + " embedding rows");
        }
        if (precompute != null) {
            try (Conditioning c = prepare(x.shape(), timesteps, encoderHiddenStates)) {
                predictNoiseInto(x, c, eps);
            } catch (IllegalStateException e) {
                throw new IllegalStateException("UNet " + session.file() + " failed on " + x + ": " + e.getMessage(), e);
            }
            return;
        }
        requireNoResiduals();
        runWhole(x, timesteps, encoderHiddenStates, null, eps);
    }

    private void runWhole(FloatTensor x, long[] timesteps, FloatTensor encoderHiddenStates, ControlResiduals res, float[] eps) {
        requireRoom(x, eps);
        try {
            for (int i = 0; i < 4; i++) sampleShape[i] = x.dim(i);
            timestepShape[0] = timesteps.length;
            for (int i = 0; i < 3; i++) hiddenShape[i] = encoderHiddenStates.dim(i);
            run.input(0, sampleShape).writeFloats(x.data());
            run.input(1, timestepShape).writeIntegers(timesteps);
            run.input(2, hiddenShape).writeFloats(encoderHiddenStates.data());
            if (res != null) writeResiduals(3, x, res);
            run.run();
            readOutput(x, eps);
        } catch (OrtException e) {
            throw new IllegalStateException("UNet " + session.file() + " failed on " + x + ": " + e.getMessage(), e);
        }
    }

    /** Writes the residuals into the residual inputs, which start at input {@code first} of {@link #run}. */
    private void writeResiduals(int first, FloatTensor x, ControlResiduals res) throws OrtException {
        List<FloatTensor> all = res.all();
        if (all.size() != residuals.length) {
            throw new IllegalArgumentException("UNet " + session.file() + " takes " + residuals.length
                    + " ControlNet residuals, given " + all.size());
        }
        for (int i = 0; i < residuals.length; i++) {
            FloatTensor r = all.get(i);
            if (r.rows() != x.rows()) {
                throw new IllegalArgumentException("ControlNet residual '" + residuals[i].name() + "' " + r + " does not have the "
                        + x.rows() + " rows of the sample");
            }
            run.input(first + i, r.shapeAsLongs()).writeFloats(r.data());
        }
    }

    private void requireNoResiduals() {
        if (residuals.length > 0) {
            throw new IllegalStateException("UNet " + session.file() + " takes ControlNet residuals ("
                    + residuals.length + " inputs); call it with residuals (zeros without an active ControlNet)");
        }
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor x, Conditioning conditioning, ControlResiduals res, float[] eps) {
        if (residuals.length == 0) {
            throw new UnsupportedOperationException("UNet " + session.file() + " has no ControlNet residual inputs;"
                    + " a ControlNet needs the UNet made with them");
        }
        java.util.Objects.requireNonNull(res, "residuals");
        if (precompute == null) {
            if (!(conditioning instanceof Embeddings e)) {
                throw new IllegalArgumentException("this UNet cannot use conditioning prepared by another one: " + conditioning);
            }
            if (!e.fits(e.timesteps(), x)) {
                throw new IllegalArgumentException("conditioning prepared for samples of " + Arrays.toString(e.sampleShape())
                        + ", given " + x);
            }
            runWhole(x, e.timesteps(), e.encoderHiddenStates(), res, eps);
            return;
        }
        runSplit(x, conditioning, res, eps);
    }

    /**
     * With a split graph, runs the conditioning session and keeps its results in tensors of
     * their own (the handle owns them; close it when the prompt or timesteps change). Without,
     * keeps the embeddings.
     */
    @Override
    public synchronized Conditioning prepare(int[] shape, long[] timesteps, FloatTensor encoderHiddenStates) {
        Embeddings.of(shape, timesteps, encoderHiddenStates); // checks the rows
        if (precompute == null) return Embeddings.of(shape, timesteps, encoderHiddenStates);
        PinnedRun cond = precompute.run();
        DirectTensor[] values = new DirectTensor[precompute.frontier()];
        try {
            cond.input(0, new long[] {timesteps.length}).writeIntegers(timesteps);
            cond.input(1, encoderHiddenStates.shapeAsLongs()).writeFloats(encoderHiddenStates.data());
            if (precompute.sampleInput() >= 0) {
                long[] s = new long[shape.length];
                for (int i = 0; i < s.length; i++) s[i] = shape[i];
                cond.input(precompute.sampleInput(), s); // only its shape is read
            }
            cond.run();
            for (int i = 0; i < values.length; i++) values[i] = cond.output(i).copy(session.env());
            return new Prepared(precompute.session(), shape.clone(), timesteps.clone(), values);
        } catch (OrtException | RuntimeException e) {
            for (DirectTensor v : values) if (v != null) v.close();
            throw new IllegalStateException("UNet conditioning " + precompute.session().file() + " failed on "
                    + encoderHiddenStates + ": " + e.getMessage(), e);
        }
    }

    @Override
    public synchronized void predictNoiseInto(FloatTensor x, Conditioning conditioning, float[] eps) {
        if (precompute == null) {
            Unet.super.predictNoiseInto(x, conditioning, eps);
            return;
        }
        requireNoResiduals();
        runSplit(x, conditioning, null, eps);
    }

    private void runSplit(FloatTensor x, Conditioning conditioning, ControlResiduals res, float[] eps) {
        if (!(conditioning instanceof Prepared p) || p.session != precompute.session()) {
            throw new IllegalArgumentException("this UNet cannot use conditioning prepared elsewhere: " + conditioning);
        }
        if (p.closed()) throw new IllegalStateException("the conditioning was closed");
        if (!x.hasShape(p.sampleShape)) {
            throw new IllegalArgumentException("conditioning prepared for samples of " + Arrays.toString(p.sampleShape)
                    + ", given " + x);
        }
        requireRoom(x, eps);
        try {
            for (int i = 0; i < 4; i++) sampleShape[i] = x.dim(i);
            run.input(0, sampleShape).writeFloats(x.data());
            for (int i = 0; i < p.values.length; i++) run.bind(1 + i, p.values[i]);
            if (res != null) writeResiduals(1 + p.values.length, x, res);
            run.run();
            readOutput(x, eps);
        } catch (OrtException e) {
            throw new IllegalStateException("UNet " + session.file() + " failed on " + x + ": " + e.getMessage(), e);
        }
    }

    /** Binds prepared conditioning to a run of the main session (a sibling of {@link #pinnedRun}). */
    void bindConditioning(PinnedRun target, Conditioning conditioning) {
        if (!(conditioning instanceof Prepared p)) throw new IllegalArgumentException("not prepared here: " + conditioning);
        for (int i = 0; i < p.values.length; i++) target.bind(1 + i, p.values[i]);
    }

    private static void requireRoom(FloatTensor x, float[] eps) {
        if (eps.length != x.size()) {
            throw new IllegalArgumentException("the noise prediction of " + x + " needs " + x.size() + " values, found room for "
                    + eps.length);
        }
    }

    private void readOutput(FloatTensor x, float[] eps) {
        DirectTensor out = run.output(0);
        if (out.size() != eps.length) {
            throw new IllegalStateException("UNet " + session.file() + " returned " + out.size() + " values for " + x
                    + ", expected the same shape as the sample");
        }
        out.readFloats(eps);
    }

    /** Pre-computed frontier values for one sample shape and set of timesteps; owns its tensors. */
    private static final class Prepared implements Conditioning {
        private final OnnxSession session;
        private final int[] sampleShape;
        private final long[] timesteps;
        private final DirectTensor[] values;
        private boolean closed;

        Prepared(OnnxSession session, int[] sampleShape, long[] timesteps, DirectTensor[] values) {
            this.session = session;
            this.sampleShape = sampleShape;
            this.timesteps = timesteps;
            this.values = values;
        }

        @Override
        public int[] sampleShape() {
            return sampleShape.clone();
        }

        @Override
        public boolean fits(long[] t, FloatTensor sample) {
            return !closed && Arrays.equals(timesteps, t) && sample.hasShape(sampleShape);
        }

        synchronized boolean closed() {
            return closed;
        }

        @Override
        public synchronized void close() {
            if (closed) return;
            closed = true;
            for (DirectTensor v : values) v.close();
        }

        @Override
        public String toString() {
            return values.length + " pre-computed values for samples of " + Arrays.toString(sampleShape) + " at timesteps "
                    + Arrays.toString(timesteps);
        }
    }

    OnnxSession session() {
        return session;
    }

    PinnedRun pinnedRun() {
        return run;
    }

    /** Time spent inside ONNX Runtime for this model (the per-frame session; conditioning not included). */
    public RunStats runStats() {
        return run.stats();
    }

    /** How the session was set up (provider, shapes, cache). */
    public String setup() {
        if (precompute == null) return session.setup();
        return session.setup() + "; conditioning pre-computed (" + precompute.frontier() + " values) by a session with "
                + precompute.session().setup();
    }

    @Override
    public int latentChannels() {
        return channels;
    }

    @Override
    public int crossAttentionDim() {
        return crossAttentionDim;
    }

    @Override
    public synchronized void close() {
        run.close();
        if (precompute != null) precompute.run().close();
        if (ownsSession) {
            session.close();
            if (precompute != null) precompute.session().close();
        }
    }
}
