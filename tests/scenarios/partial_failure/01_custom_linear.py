from kata_runner.testing import solution


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return x @ self.weight.T  # the bias is never added
