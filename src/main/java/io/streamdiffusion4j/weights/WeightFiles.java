package io.streamdiffusion4j.weights;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamdiffusion4j.files.InputFileException;
import io.streamdiffusion4j.files.InputFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The weights of one diffusers/transformers component folder: a single safetensors file
 * ({@code diffusion_pytorch_model.safetensors}, {@code model.safetensors}, their {@code .fp16}
 * variants) or shards listed by a {@code *.safetensors.index.json}, opened as one source.
 */
public final class WeightFiles implements WeightSource {
    private static final List<String> SINGLE = List.of("diffusion_pytorch_model.safetensors", "model.safetensors",
            "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors");
    private static final List<String> INDEX = List.of("diffusion_pytorch_model.safetensors.index.json",
            "model.safetensors.index.json", "diffusion_pytorch_model.fp16.safetensors.index.json",
            "model.fp16.safetensors.index.json");

    private final String origin;
    private final List<SafeTensors> files;
    private final Map<String, SafeTensors> byName;

    private WeightFiles(String origin, List<SafeTensors> files) throws IOException {
        this.origin = origin;
        this.files = files;
        Map<String, SafeTensors> map = new LinkedHashMap<>();
        for (SafeTensors f : files) {
            for (String n : f.names()) {
                SafeTensors prev = map.put(n, f);
                if (prev != null) throw new InputFileException("tensor '" + n + "' is in both " + prev.file() + " and " + f.file());
            }
        }
        this.byName = Collections.unmodifiableMap(map);
    }

    /** The weight files of a component folder, or a clear error listing what was looked for. */
    public static WeightFiles openFolder(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new InputFileException("component folder not found: " + dir);
        for (String name : INDEX) {
            Path index = dir.resolve(name);
            if (Files.isRegularFile(index)) return openIndex(index);
        }
        for (String name : SINGLE) {
            Path f = dir.resolve(name);
            if (Files.isRegularFile(f)) return new WeightFiles(f.toString(), List.of(SafeTensors.open(f)));
        }
        List<Path> any = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().forEach(any::add);
        }
        if (any.size() == 1) return new WeightFiles(any.getFirst().toString(), List.of(SafeTensors.open(any.getFirst())));
        if (Files.isRegularFile(dir.resolve("diffusion_pytorch_model.bin")) || Files.isRegularFile(dir.resolve("pytorch_model.bin"))) {
            throw new InputFileException(dir + " has only PyTorch pickle weights (.bin); convert them to .safetensors first"
                    + " (pickles can run code, so they are not read)");
        }
        throw new InputFileException("no weights in " + dir + ": expected one of " + String.join(", ", SINGLE)
                + " or a *.safetensors.index.json");
    }

    public static WeightFiles openFile(Path file) throws IOException {
        return new WeightFiles(file.toString(), List.of(SafeTensors.open(file)));
    }

    private static WeightFiles openIndex(Path index) throws IOException {
        JsonNode root = InputFiles.jsonObject(index, "safetensors index");
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) throw new InputFileException(index + ": expected a 'weight_map' object");
        Set<String> shards = new java.util.TreeSet<>();
        map.fields().forEachRemaining(e -> shards.add(e.getValue().asText()));
        List<SafeTensors> files = new ArrayList<>();
        try {
            for (String shard : shards) {
                Path p = index.resolveSibling(shard);
                if (!Files.isRegularFile(p)) throw new InputFileException(index + " lists shard " + shard + ", which does not exist");
                files.add(SafeTensors.open(p));
            }
            return new WeightFiles(index.toString(), files);
        } catch (IOException e) {
            for (SafeTensors f : files) f.close();
            throw e;
        }
    }

    private SafeTensors file(String name) throws IOException {
        SafeTensors f = byName.get(name);
        if (f == null) throw new InputFileException(origin + ": missing tensor '" + name + "'");
        return f;
    }

    @Override
    public Set<String> names() {
        return byName.keySet();
    }

    @Override
    public int[] shape(String name) throws IOException {
        return file(name).shape(name);
    }

    @Override
    public float[] floats(String name) throws IOException {
        return file(name).floats(name);
    }

    @Override
    public String origin() {
        return origin;
    }

    /** The files behind this source (for content hashing). */
    public List<Path> paths() {
        return files.stream().map(SafeTensors::file).toList();
    }

    @Override
    public void close() throws IOException {
        for (SafeTensors f : files) f.close();
    }
}
